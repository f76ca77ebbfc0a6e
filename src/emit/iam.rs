//! IAM from flows: each plan flow becomes one or more statements (its own access,
//! plus the KMS use that the access implies), each with a `Sid` naming the flow.
//! There is no other way to add a permission.
//!
//! Values that are only known at deploy time (the KMS key's ARN, subnet ids) appear
//! as `${Name}` placeholders; the template wraps such strings in `Fn::Sub`, and the
//! policy files list what each placeholder stands for.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::plan::{Access, BucketId, Flow, Plan, Principal, RolePlan};

/// Placeholder for the data key's ARN (foundation stack).
pub const DATA_KEY: &str = "${DataKeyArn}";
/// Placeholder for the artifacts key's ARN (bootstrap stack).
pub const ARTIFACTS_KEY: &str = "${ArtifactsKeyArn}";
/// Placeholder for the replica key's ARN (replica stack, in the replica region).
pub const REPLICA_KEY: &str = "${ReplicaKeyArn}";

/// What each placeholder stands for (for the policy files).
/// The index table's name where IAM names it: CloudFormation names the table, so its
/// name is known only once the storage stack is deployed.
pub const INDEX_TABLE: &str = "${IndexTableName}";

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

/// What a service does to run inside the VPC, by the service that assumes the role:
/// (actions on the interfaces it creates, actions on them afterwards, `*`-only reads).
/// Lambda's set is its VPC access execution permissions; Glue also tags its interfaces
/// and checks routes to the S3 endpoint; SageMaker also hands the interfaces to its
/// training hosts (interface permissions) and reads DHCP options.
pub(crate) fn vpc_actions(
    service: &str,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    match service {
        "lambda.amazonaws.com" => (
            &["ec2:CreateNetworkInterface"],
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            &["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        ),
        "sagemaker.amazonaws.com" => (
            &["ec2:CreateNetworkInterface"],
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            &[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
            ],
        ),
        // Glue, and any other service: the widest set.
        _ => (
            &["ec2:CreateNetworkInterface", "ec2:CreateTags"],
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            &[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeRouteTables",
                "ec2:DescribeVpcs",
            ],
        ),
    }
}

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

/// A policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

/// Everything IAM about one generated role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleIam {
    #[serde(rename = "Role")]
    pub name: String,
    #[serde(rename = "Purpose")]
    pub purpose: String,
    #[serde(rename = "AssumedBy")]
    pub service: String,
    #[serde(
        rename = "PermissionsBoundary",
        skip_serializing_if = "Option::is_none"
    )]
    pub boundary: Option<String>,
    #[serde(rename = "TrustPolicy")]
    pub trust: Value,
    /// Managed policies (name → document), split to stay under IAM's size limit.
    #[serde(rename = "Policies")]
    pub policies: BTreeMap<String, Document>,
    #[serde(rename = "Placeholders", skip_serializing_if = "BTreeMap::is_empty")]
    pub placeholders: BTreeMap<String, String>,
    /// Statement id → flow id (for reports and `iam explain`).
    #[serde(skip)]
    pub sources: BTreeMap<String, String>,
}

/// IAM's limit on a managed policy document, in characters without white space.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

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

/// A log group and its streams.
fn log_group_arns(plan: &Plan, group: &str) -> Vec<String> {
    vec![
        arn(plan, "logs", true, &format!("log-group:{group}")),
        arn(
            plan,
            "logs",
            true,
            &format!("log-group:{group}:log-stream:*"),
        ),
    ]
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

fn via(plan: &Plan, service: &str) -> Value {
    json!(format!("{service}.{}.amazonaws.com", plan.region))
}

/// Whether a role's service writes with multipart uploads (Spark, SageMaker), which
/// need `kms:Decrypt` to upload parts under SSE-KMS.
fn multipart_writer(role: Option<&RolePlan>) -> bool {
    role.is_some_and(|r| r.service.starts_with("glue.") || r.service.starts_with("sagemaker."))
}

/// The statements one flow grants.
pub fn statements(plan: &Plan, flow: &Flow) -> Vec<Statement> {
    let role = match &flow.principal {
        Principal::Role(r) => plan.roles.get(r),
        Principal::External(_) => None,
    };
    let mut out = Vec::new();
    let kms_s3 = |out: &mut Vec<Statement>, b: BucketId, actions: &[&str]| {
        if let Some(key) = key_for(b) {
            let region = &plan.bucket(b).region;
            out.push(
                Statement::allow(sid(flow, "Key"), actions, vec![key.to_owned()])
                    .when(
                        "StringEquals",
                        "kms:ViaService",
                        json!(format!("s3.{region}.amazonaws.com")),
                    )
                    .when(
                        "StringEquals",
                        "kms:EncryptionContext:aws:s3:arn",
                        json!(bucket_arn(plan, b)),
                    ),
            );
        }
    };
    match &flow.access {
        Access::PutObjects { bucket, prefix } => {
            let b = bucket_arn(plan, *bucket);
            out.push(Statement::allow(
                sid(flow, ""),
                &["s3:PutObject", "s3:AbortMultipartUpload"],
                vec![format!("{b}/{prefix}*")],
            ));
            if multipart_writer(role) {
                kms_s3(&mut out, *bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
            } else {
                kms_s3(&mut out, *bucket, &["kms:GenerateDataKey"]);
            }
        }
        Access::ReadObjects { bucket, prefix } => {
            let b = bucket_arn(plan, *bucket);
            let object = if prefix.ends_with('/') {
                format!("{b}/{prefix}*")
            } else {
                format!("{b}/{prefix}")
            };
            out.push(Statement::allow(
                sid(flow, ""),
                &["s3:GetObject"],
                vec![object],
            ));
            if prefix.ends_with('/') {
                let bare = prefix.trim_end_matches('/');
                out.push(
                    Statement::allow(sid(flow, "List"), &["s3:ListBucket"], vec![b]).when(
                        "StringLike",
                        "s3:prefix",
                        json!([bare, format!("{prefix}*")]),
                    ),
                );
            }
            kms_s3(&mut out, *bucket, &["kms:Decrypt"]);
        }
        Access::ScratchObjects { bucket, prefix } => {
            let b = bucket_arn(plan, *bucket);
            out.push(Statement::allow(
                sid(flow, ""),
                &[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                vec![format!("{b}/{prefix}*")],
            ));
            out.push(
                Statement::allow(sid(flow, "List"), &["s3:ListBucket"], vec![b.clone()]).when(
                    "StringLike",
                    "s3:prefix",
                    json!([prefix.trim_end_matches('/'), format!("{prefix}*")]),
                ),
            );
            // Athena and Spark look up the bucket's region; `s3:prefix` does not apply.
            out.push(Statement::allow(
                sid(flow, "Location"),
                &["s3:GetBucketLocation"],
                vec![b],
            ));
            kms_s3(&mut out, *bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
        }
        Access::WriteItems | Access::ReadItems | Access::QueryIndex { .. } => {
            let table = arn(plan, "dynamodb", true, &format!("table/{INDEX_TABLE}"));
            let (actions, resource, kms): (&[&str], String, &[&str]) = match &flow.access {
                Access::WriteItems => (
                    &["dynamodb:PutItem"],
                    table,
                    &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                ),
                Access::ReadItems => (&["dynamodb:GetItem"], table, &["kms:Decrypt"]),
                Access::QueryIndex { index } => (
                    &["dynamodb:Query"],
                    format!("{table}/index/{index}"),
                    &["kms:Decrypt"],
                ),
                _ => unreachable!(),
            };
            out.push(Statement::allow(sid(flow, ""), actions, vec![resource]));
            out.push(
                Statement::allow(sid(flow, "Key"), kms, vec![DATA_KEY.to_owned()])
                    .when("StringEquals", "kms:ViaService", via(plan, "dynamodb"))
                    .when(
                        "StringEquals",
                        "kms:EncryptionContext:aws:dynamodb:tableName",
                        json!(INDEX_TABLE),
                    ),
            );
        }
        Access::ExportTable { bucket, prefix } => {
            let table = arn(plan, "dynamodb", true, &format!("table/{INDEX_TABLE}"));
            out.push(Statement::allow(
                sid(flow, ""),
                &["dynamodb:ExportTableToPointInTime"],
                vec![table],
            ));
            let b = bucket_arn(plan, *bucket);
            out.push(Statement::allow(
                sid(flow, "Write"),
                &["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
                vec![format!("{b}/{prefix}*")],
            ));
            kms_s3(&mut out, *bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
        }
        Access::StartJob { job } => {
            out.push(Statement::allow(
                sid(flow, ""),
                &["glue:StartJobRun"],
                vec![arn(plan, "glue", true, &format!("job/{job}"))],
            ));
        }
        Access::WriteLogs { group } => {
            let creates_group = role.is_some_and(|r| !r.service.starts_with("lambda."));
            let mut actions = vec!["logs:CreateLogStream", "logs:PutLogEvents"];
            if creates_group {
                actions.push("logs:CreateLogGroup");
            }
            out.push(Statement::allow(
                sid(flow, ""),
                &actions,
                log_group_arns(plan, group),
            ));
        }
        Access::PushApiLogs { group } => {
            out.push(Statement::allow(
                sid(flow, ""),
                &[
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                log_group_arns(plan, group),
            ));
        }
        Access::SendMessages { queue } => {
            out.push(Statement::allow(
                sid(flow, ""),
                &["sqs:SendMessage"],
                vec![arn(plan, "sqs", true, queue)],
            ));
            out.push(
                Statement::allow(
                    sid(flow, "Key"),
                    &["kms:GenerateDataKey", "kms:Decrypt"],
                    vec![DATA_KEY.to_owned()],
                )
                .when("StringEquals", "kms:ViaService", via(plan, "sqs")),
            );
        }
        Access::ReadCatalog { tables } | Access::UpdateCatalog { tables } => {
            let db = &plan.database;
            let mut resources = vec![
                arn(plan, "glue", true, "catalog"),
                arn(plan, "glue", true, &format!("database/{db}")),
            ];
            resources.extend(
                tables
                    .iter()
                    .map(|t| arn(plan, "glue", true, &format!("table/{db}/{t}"))),
            );
            let actions: Vec<&str> = if matches!(flow.access, Access::ReadCatalog { .. }) {
                vec![
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ]
            } else {
                let mut a = vec![
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                ];
                if plan.on_delete == crate::spec::model::DeleteBehavior::Delete {
                    a.extend([
                        "glue:DeleteTable",
                        "glue:DeletePartition",
                        "glue:BatchDeletePartition",
                    ]);
                }
                a
            };
            out.push(Statement::allow(sid(flow, ""), &actions, resources));
        }
        Access::QueryAthena => {
            out.push(Statement::allow(
                sid(flow, ""),
                &[
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetWorkGroup",
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                ],
                vec![arn(
                    plan,
                    "athena",
                    true,
                    &format!("workgroup/{}", plan.workgroup),
                )],
            ));
        }
        Access::AttachToVpc => {
            let n = plan.network.as_ref().map_or(0, |n| n.subnets.len());
            let mut create = vec![
                arn(plan, "ec2", true, "network-interface/*"),
                arn(plan, "ec2", true, "security-group/${WorkloadSecurityGroup}"),
            ];
            create.extend(
                (1..=n).map(|i| arn(plan, "ec2", true, &format!("subnet/${{PrivateSubnet{i}}}"))),
            );
            let (create_actions, manage_actions, star) =
                vpc_actions(role.map_or("", |r| r.service.as_str()));
            out.push(Statement::allow(
                sid(flow, "Create"),
                create_actions,
                create,
            ));
            let mut manage = Statement::allow(
                sid(flow, "Manage"),
                manage_actions,
                vec![arn(plan, "ec2", true, "network-interface/*")],
            );
            let subnets: Vec<String> = (1..=n)
                .map(|i| arn(plan, "ec2", true, &format!("subnet/${{PrivateSubnet{i}}}")))
                .collect();
            manage = manage.when("ArnEquals", "ec2:Subnet", json!(subnets));
            out.push(manage);
            out.push(Statement::allow(
                sid(flow, "Describe"),
                star,
                vec!["*".to_owned()],
            ));
        }
        Access::RegisterModels => {
            let g = plan.model_package_group.as_deref().unwrap_or_default();
            out.push(Statement::allow(
                sid(flow, ""),
                &[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                vec![
                    arn(plan, "sagemaker", true, &format!("model-package-group/{g}")),
                    arn(plan, "sagemaker", true, &format!("model-package/{g}/*")),
                ],
            ));
        }
        Access::Replicate { from, to } => {
            let src = bucket_arn(plan, *from);
            let dst = bucket_arn(plan, *to);
            out.push(Statement::allow(
                sid(flow, "Config"),
                &["s3:GetReplicationConfiguration", "s3:ListBucket"],
                vec![src.clone()],
            ));
            let mut read = vec![
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ];
            if plan.object_lock(*from) {
                // S3 copies each version's retention and legal hold to the replica.
                read.extend(["s3:GetObjectRetention", "s3:GetObjectLegalHold"]);
            }
            out.push(Statement::allow(
                sid(flow, "Read"),
                &read,
                vec![format!("{src}/*")],
            ));
            out.push(Statement::allow(
                sid(flow, "Write"),
                &[
                    "s3:ReplicateObject",
                    "s3:ReplicateDelete",
                    "s3:ReplicateTags",
                ],
                vec![format!("{dst}/*")],
            ));
            kms_s3(&mut out, *from, &["kms:Decrypt"]);
            // The copy is encrypted under the destination's key, through S3 in the
            // destination's region (the replica key, or on the way back the source's).
            let to_region = &plan.bucket(*to).region;
            if let Some(key) = key_for(*to) {
                out.push(
                    Statement::allow(
                        sid(flow, "DestinationKey"),
                        &["kms:Encrypt", "kms:GenerateDataKey"],
                        vec![key.to_owned()],
                    )
                    .when(
                        "StringEquals",
                        "kms:ViaService",
                        json!(format!("s3.{to_region}.amazonaws.com")),
                    )
                    .when(
                        "StringEquals",
                        "kms:EncryptionContext:aws:s3:arn",
                        json!(dst),
                    ),
                );
            }
        }
        Access::EncryptBookmarks => {
            out.push(Statement::allow(
                sid(flow, ""),
                &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                vec![DATA_KEY.to_owned()],
            ));
        }
    }
    out
}

/// Trust conditions by service: only where the service documents that it sends
/// `aws:SourceAccount` when assuming a role (others would then fail to assume it).
fn trust_condition(plan: &Plan, service: &str) -> Option<Value> {
    match service.split('.').next()? {
        "scheduler" | "sagemaker" => {
            Some(json!({"StringEquals": {"aws:SourceAccount": plan.account}}))
        }
        _ => None,
    }
}

pub fn trust_policy(plan: &Plan, role: &RolePlan) -> Value {
    let mut st = json!({
        "Sid": "AssumedByService",
        "Effect": "Allow",
        "Principal": {"Service": role.service},
        "Action": "sts:AssumeRole",
    });
    if let Some(c) = trust_condition(plan, &role.service) {
        st["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [st]})
}

/// The longest a placeholder's value can be once deployed.
fn placeholder_max_len(plan: &Plan, name: &str) -> usize {
    // Key ids are UUIDs or `mrk-` and 32 hex digits: 36 characters either way.
    let key_arn = |region: &str| {
        format!("arn:{}:kms:{region}:{}:key/", plan.partition, plan.account).len() + 36
    };
    match name {
        "DataKeyArn" | "ArtifactsKeyArn" => key_arn(&plan.region),
        "ReplicaKeyArn" => key_arn(plan.replica_region.as_deref().unwrap_or(&plan.region)),
        // `subnet-` or `sg-` and 17 hex digits.
        "WorkloadSecurityGroup" => 20,
        n if n.starts_with("PrivateSubnet") => 24,
        // CloudFormation names the table `<stack>-IndexTable-<suffix of at most 13>`.
        "IndexTableName" => plan
            .stacks
            .get(&crate::plan::StackId::Storage)
            .map_or(255, |s| s.len() + "-IndexTable-".len() + 13),
        // DynamoDB's limit on a name, an upper bound for anything not listed.
        _ => 255,
    }
}

/// The length IAM counts for a document once deployed (no white space), with each
/// `${Name}` placeholder as long as its value can be: a policy that fits in
/// `policies/` must still fit once CloudFormation substitutes key ARNs and names.
pub fn deployed_len<T: Serialize>(plan: &Plan, v: &T) -> usize {
    let text = serde_json::to_string(v).unwrap_or_default();
    placeholder_docs().keys().fold(text.len(), |len, name| {
        let placeholder = format!("${{{name}}}");
        let n = text.matches(&placeholder).count();
        len + n * placeholder_max_len(plan, name).saturating_sub(placeholder.len())
    })
}

/// IAM's default quota of managed policies per role.
pub const MAX_POLICIES_PER_ROLE: usize = 10;

/// Splits statements, in order, into managed policies under the size limit.
fn split(plan: &Plan, role: &str, statements: &[Statement]) -> BTreeMap<String, Document> {
    const ENVELOPE: usize = r#"{"Version":"2012-10-17","Statement":[]}"#.len();
    let mut policies = BTreeMap::new();
    let mut current: Vec<Statement> = Vec::new();
    let mut size = ENVELOPE;
    let flush = |current: &mut Vec<Statement>, policies: &mut BTreeMap<String, Document>| {
        let n = policies.len() + 1;
        policies.insert(
            format!("{role}-{n}"),
            Document {
                version: "2012-10-17",
                statements: std::mem::take(current),
            },
        );
    };
    for st in statements {
        let len = deployed_len(plan, st) + 1;
        if size + len > MANAGED_POLICY_LIMIT && !current.is_empty() {
            flush(&mut current, &mut policies);
            size = ENVELOPE;
        }
        size += len;
        current.push(st.clone());
    }
    if !current.is_empty() {
        flush(&mut current, &mut policies);
    }
    policies
}

/// Merges statements with the same actions and conditions; `sources` is updated so
/// each merged Sid lists every flow it serves.
fn compact(statements: Vec<Statement>, sources: &mut BTreeMap<String, String>) -> Vec<Statement> {
    let mut out: Vec<(Statement, Vec<String>)> = Vec::new();
    for st in statements {
        match out
            .iter_mut()
            .find(|(o, _)| o.actions == st.actions && o.condition == st.condition)
        {
            Some((o, sids)) => {
                o.resources.extend(st.resources);
                o.resources.sort();
                o.resources.dedup();
                sids.push(st.sid);
            }
            None => {
                let sid = st.sid.clone();
                out.push((st, vec![sid]));
            }
        }
    }
    let mut used = std::collections::BTreeSet::new();
    out.into_iter()
        .map(|(mut st, sids)| {
            if sids.len() > 1 {
                let first = &sids[0];
                let common = sids.iter().fold(first.len(), |n, s| {
                    first
                        .bytes()
                        .zip(s.bytes())
                        .take(n)
                        .take_while(|(a, b)| a == b)
                        .count()
                });
                let mut sid = format!("{}Merged", &first[..common.max(1)]);
                let mut k = 2;
                while used.contains(&sid) {
                    sid = format!("{}Merged{k}", &first[..common.max(1)]);
                    k += 1;
                }
                let flows: Vec<String> = sids.iter().filter_map(|s| sources.remove(s)).collect();
                sources.insert(sid.clone(), flows.join(","));
                st.sid = sid;
            }
            used.insert(st.sid.clone());
            st
        })
        .collect()
}

/// All generated roles' IAM, keyed by role id.
pub fn roles(plan: &Plan) -> BTreeMap<String, RoleIam> {
    let mut out = BTreeMap::new();
    for (id, role) in &plan.roles {
        let mut all = Vec::new();
        let mut sources = BTreeMap::new();
        for flow in plan.flows_of(id) {
            for st in statements(plan, flow) {
                sources.insert(st.sid.clone(), flow.id.clone());
                all.push(st);
            }
        }
        let mut policies = split(plan, &role.name, &all);
        if policies.len() > MAX_POLICIES_PER_ROLE {
            // Too many for IAM's default quota: merge statements that grant the same
            // actions under the same conditions (their resources are joined), keeping
            // the flows' common Sid prefix.
            let merged = compact(all, &mut sources);
            policies = split(plan, &role.name, &merged);
        }
        let text = serde_json::to_string(&policies).unwrap_or_default();
        let placeholders = placeholder_docs()
            .into_iter()
            .filter(|(k, _)| text.contains(&format!("${{{k}}}")))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        out.insert(
            id.clone(),
            RoleIam {
                name: role.name.clone(),
                purpose: role.purpose.clone(),
                service: role.service.clone(),
                boundary: plan.permissions_boundary.clone(),
                trust: trust_policy(plan, role),
                policies,
                placeholders,
                sources,
            },
        );
    }
    out
}

/// Every action granted to a role (for summaries).
pub fn actions_of(r: &RoleIam) -> BTreeSet<String> {
    r.policies
        .values()
        .flat_map(|d| d.statements.iter().flat_map(|s| s.actions.iter().cloned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_name_the_flow() {
        let f = Flow {
            id: "transform-pos_sales:read-raw:pos".into(),
            principal: Principal::Role("x".into()),
            access: Access::ReadItems,
            origin: crate::plan::Origin {
                path: "p".into(),
                line: None,
            },
            why: String::new(),
        };
        assert_eq!(sid(&f, "Key"), "TransformPosSalesReadRawPosKey");
    }

    #[test]
    fn deployed_length_counts_placeholders_at_their_longest() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
        let checked = crate::spec::check(&path, &crate::spec::RealFiles).unwrap();
        let plan = crate::plan::lower(&checked.validated().unwrap(), "prod").unwrap();
        let plain = json!({"Resource": "arn:aws:s3:::b"});
        assert_eq!(deployed_len(&plan, &plain), plain.to_string().len());
        let doc = json!({"Resource": ["${DataKeyArn}", "${DataKeyArn}"], "T": "${IndexTableName}"});
        let key = "arn:aws:kms:eu-west-2:222222222222:key/0d5e1a4b-7c2f-4e8a-9b3d-000000000001";
        let table = format!(
            "{}-IndexTable-ABCDEFGHIJKLM",
            plan.stacks[&crate::plan::StackId::Storage]
        );
        let real = json!({"Resource": [key, key], "T": table});
        assert_eq!(deployed_len(&plan, &doc), real.to_string().len());
    }

    #[test]
    fn star_only_actions_are_listed_with_reasons() {
        for (a, why) in STAR_ONLY {
            assert!(a.contains(':') && !why.is_empty());
        }
    }

    #[test]
    fn each_service_gets_its_own_vpc_actions_and_stars_only_listed_ones() {
        let star_only: Vec<&str> = STAR_ONLY.iter().map(|(a, _)| *a).collect();
        let lambda = vpc_actions("lambda.amazonaws.com");
        let glue = vpc_actions("glue.amazonaws.com");
        let sagemaker = vpc_actions("sagemaker.amazonaws.com");
        for (c, m, star) in [lambda, glue, sagemaker] {
            assert!(c.contains(&"ec2:CreateNetworkInterface"));
            assert!(m.contains(&"ec2:DeleteNetworkInterface"));
            assert!(star.iter().all(|a| star_only.contains(a)), "{star:?}");
        }
        // A function neither tags its interfaces nor inspects routes or endpoints.
        assert!(!lambda.0.contains(&"ec2:CreateTags"));
        assert!(!lambda.2.contains(&"ec2:DescribeRouteTables"));
        // SageMaker passes interfaces to its hosts; nobody else may.
        assert!(
            sagemaker
                .1
                .contains(&"ec2:CreateNetworkInterfacePermission")
        );
        assert!(!glue.1.contains(&"ec2:CreateNetworkInterfacePermission"));
    }
}
