//! IAM from flows: each plan flow becomes one or more statements (its own access,
//! plus the KMS use that the access implies), each with a `Sid` naming the flow.
//! There is no other way to add a permission. This module holds the statement type,
//! the placeholders and ARN helpers, and dispatches each kind of flow ([`Access`]) to
//! the module of its service; it is not where policies are assembled (`policy`).
//!
//! Values that are only known at deploy time (the KMS key's ARN, subnet ids) appear
//! as `${Name}` placeholders; the template wraps such strings in `Fn::Sub`, and the
//! policy files list what each placeholder stands for.
//!
//! A new kind of flow: a variant of `plan::Access`, a function in the module of its
//! service (or a new one) returning its statements, and an arm in [`statements`].

mod athena;
mod dynamodb;
mod glue;
mod kms;
mod logs;
mod policy;
mod s3;
mod sagemaker;
mod sqs;
mod vpc;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::plan::{Access, BucketId, Flow, Plan, Principal, RolePlan};

pub use policy::{
    Document, MANAGED_POLICY_LIMIT, MAX_POLICIES_PER_ROLE, RoleIam, actions_of, deployed_len,
    roles, trust_policy,
};
#[cfg(test)]
pub(crate) use vpc::vpc_actions;

/// Placeholder for the data key's ARN (foundation stack).
pub const DATA_KEY: &str = "${DataKeyArn}";
/// Placeholder for the artifacts key's ARN (bootstrap stack).
pub const ARTIFACTS_KEY: &str = "${ArtifactsKeyArn}";
/// Placeholder for the replica key's ARN (replica stack, in the replica region).
pub const REPLICA_KEY: &str = "${ReplicaKeyArn}";

/// The index table's name where IAM names it: CloudFormation names the table, so its
/// name is known only once the storage stack is deployed.
pub const INDEX_TABLE: &str = "${IndexTableName}";

/// What each placeholder stands for (for the policy files).
pub fn placeholder_docs() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        (
            "DataKeyArn",
            "ARN of the pipeline's KMS key (foundation stack output `DataKeyArn`)",
        ),
        (
            "ArtifactsKeyArn",
            "ARN of the artifacts bucket's KMS key (bootstrap stack output `ArtifactsKeyArn`)",
        ),
        (
            "ReplicaKeyArn",
            "ARN of the replica region's KMS key (replica stack output `ReplicaKeyArn`)",
        ),
        (
            "IndexTableName",
            "name of the metadata index table, which CloudFormation gives it (storage stack output `IndexTableName`)",
        ),
        (
            "PrivateSubnet1",
            "id of the first private subnet (network stack)",
        ),
        (
            "PrivateSubnet2",
            "id of the second private subnet (network stack)",
        ),
        (
            "PrivateSubnet3",
            "id of the third private subnet (network stack)",
        ),
        (
            "WorkloadSecurityGroup",
            "id of the workload security group (network stack)",
        ),
    ])
}

/// Actions that support no resource-level permissions, each with the reason it is
/// granted on `*`. The only place a `"Resource": "*"` can come from.
pub const STAR_ONLY: &[(&str, &str)] = &[
    (
        "ec2:DescribeNetworkInterfaces",
        "Lambda, Glue and SageMaker look up the interfaces they manage in the VPC",
    ),
    (
        "ec2:DescribeSecurityGroups",
        "Glue and SageMaker validate the security group before starting in the VPC",
    ),
    (
        "ec2:DescribeSubnets",
        "Lambda, Glue and SageMaker validate the subnets before starting in the VPC",
    ),
    (
        "ec2:DescribeVpcEndpoints",
        "Glue checks the S3 gateway endpoint exists before starting in the VPC",
    ),
    (
        "ec2:DescribeRouteTables",
        "Glue checks the subnets route to the S3 gateway endpoint",
    ),
    (
        "ec2:DescribeVpcs",
        "Glue and SageMaker validate the VPC before starting in it",
    ),
    (
        "ec2:DescribeDhcpOptions",
        "SageMaker reads the VPC's DHCP options to set up the training containers' DNS",
    ),
];

/// One statement. Fields serialise in IAM's conventional order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    #[serde(rename = "Sid")]
    pub sid: String,
    #[serde(rename = "Effect")]
    pub effect: &'static str,
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    #[serde(rename = "Resource")]
    pub resources: Vec<String>,
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Statement {
    fn allow(sid: String, actions: &[&str], resources: Vec<String>) -> Statement {
        let mut a: Vec<String> = actions.iter().map(|s| (*s).to_owned()).collect();
        a.sort();
        a.dedup();
        let mut r = resources;
        r.sort();
        r.dedup();
        Statement {
            sid,
            effect: "Allow",
            actions: a,
            resources: r,
            condition: BTreeMap::new(),
        }
    }

    fn when(mut self, op: &str, key: &str, value: Value) -> Statement {
        self.condition
            .entry(op.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
        self
    }
}

fn arn(plan: &Plan, service: &str, region: bool, rest: &str) -> String {
    let r = if region { plan.region.as_str() } else { "" };
    let acct = if service == "s3" {
        ""
    } else {
        plan.account.as_str()
    };
    format!("arn:{}:{service}:{r}:{acct}:{rest}", plan.partition)
}

pub fn bucket_arn(plan: &Plan, b: BucketId) -> String {
    format!("arn:{}:s3:::{}", plan.partition, plan.bucket(b).name)
}

pub fn key_for(b: BucketId) -> Option<&'static str> {
    match b {
        BucketId::Artifacts => Some(ARTIFACTS_KEY),
        // SSE-S3: S3 server access logging cannot deliver to SSE-KMS buckets.
        BucketId::Logs | BucketId::LogsReplica => None,
        BucketId::RawReplica
        | BucketId::CuratedReplica
        | BucketId::ResultsReplica
        | BucketId::ArtifactsReplica => Some(REPLICA_KEY),
        _ => Some(DATA_KEY),
    }
}

fn sid(flow: &Flow, suffix: &str) -> String {
    let mut s: String = flow
        .id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            let f = cs.next().unwrap().to_ascii_uppercase();
            format!("{f}{}", cs.as_str())
        })
        .collect();
    s.push_str(suffix);
    s
}

/// One flow on its way to statements: the plan, the flow, and the role that holds it
/// (none for a principal outside the pipeline).
struct Grant<'a> {
    plan: &'a Plan,
    flow: &'a Flow,
    role: Option<&'a RolePlan>,
}

impl Grant<'_> {
    /// An `Allow` statement whose `Sid` is the flow's, followed by `suffix`.
    fn allow(&self, suffix: &str, actions: &[&str], resources: Vec<String>) -> Statement {
        Statement::allow(sid(self.flow, suffix), actions, resources)
    }

    /// An ARN in the plan's partition and account, in its region when `region`.
    fn arn(&self, service: &str, region: bool, rest: &str) -> String {
        arn(self.plan, service, region, rest)
    }

    /// `kms:ViaService` for a service of the plan's region.
    fn via(&self, service: &str) -> Value {
        json!(crate::aws::via_service(service, &self.plan.region))
    }
}

/// The statements one flow grants, by the kind of access it needs.
pub fn statements(plan: &Plan, flow: &Flow) -> Vec<Statement> {
    let role = match &flow.principal {
        Principal::Role(r) => plan.roles.get(r),
        Principal::External(_) => None,
    };
    let g = Grant { plan, flow, role };
    match &flow.access {
        Access::PutObjects { bucket, prefix } => s3::put_objects(&g, *bucket, prefix),
        Access::ReadObjects { bucket, prefix } => s3::read_objects(&g, *bucket, prefix),
        Access::ScratchObjects { bucket, prefix } => s3::scratch_objects(&g, *bucket, prefix),
        Access::Replicate { from, to } => s3::replicate(&g, *from, *to),
        Access::WriteItems => dynamodb::write_items(&g),
        Access::ReadItems => dynamodb::read_items(&g),
        Access::QueryIndex { index } => dynamodb::query_index(&g, index),
        Access::ExportTable { bucket, prefix } => dynamodb::export_table(&g, *bucket, prefix),
        Access::StartJob { job } => glue::start_job(&g, job),
        Access::ReadCatalog { tables } => glue::read_catalog(&g, tables),
        Access::UpdateCatalog { tables } => glue::update_catalog(&g, tables),
        Access::WriteLogs { group } => logs::write_logs(&g, group),
        Access::PushApiLogs { group } => logs::push_api_logs(&g, group),
        Access::SendMessages { queue } => sqs::send_messages(&g, queue),
        Access::QueryAthena { workgroup } => athena::query(&g, workgroup),
        Access::AttachToVpc => vpc::attach(&g),
        Access::RegisterModels => sagemaker::register_models(&g),
        Access::InvokeFunction { function } => sagemaker::invoke_function(&g, function),
        Access::RunTrainingJobs { role } => sagemaker::run_training_jobs(&g, role),
        Access::StartPipeline { pipeline } => sagemaker::start_pipeline(&g, pipeline),
        Access::EncryptBookmarks => kms::encrypt_bookmarks(&g),
    }
}
