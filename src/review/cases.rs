//! Request cases for the independent policy evaluators (`scripts/iam-simulate`).
//!
//! For every role, each request its flows *need* (action, a concrete resource ARN and
//! the context keys AWS sends, such as `kms:ViaService` and the S3 encryption context)
//! is expected **allowed**; each *neighbour* of a need (another bucket, a sibling
//! prefix, delete instead of put, another table or index, another Glue job, the key
//! through another service, ...) is expected **denied**, unless another need of the
//! same role asks for exactly that. Needs are written here from what each kind of
//! access does, not read back from the generated statements, and neighbours are
//! derived from needs mechanically, so a new flow gets its negative cases for free.
//!
//! Placeholders are bound to concrete values for the plan's partition, account and
//! region; the generated bucket policies and key policies come with the cases, so the
//! evaluator sees identity and resource policies together.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::emit::iam::bucket_arn;
use crate::plan::{Access, BucketId, Flow, Plan, Principal};

use super::norm::glob;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    Allowed,
    Denied,
}

/// One request to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Case {
    pub expect: Expect,
    pub flow: String,
    /// `need`, or what the neighbour changes (`another bucket`, `sibling prefix`, ...).
    pub kind: String,
    pub action: String,
    pub resource: String,
    pub resource_account: String,
    pub context: BTreeMap<String, String>,
    /// Key into [`Cases::resource_policies`] (the bucket's or the key's policy, or the
    /// role's trust policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    /// Set for trust cases: the principal that asks to assume the role (a service or
    /// another account); the role's own policies do not apply to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedPolicy {
    pub name: String,
    pub policy: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleCases {
    pub role: String,
    pub principal: String,
    pub identity_policies: Vec<NamedPolicy>,
    pub actions_granted: usize,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cases {
    pub pipeline: String,
    pub environment: String,
    pub partition: String,
    pub account: String,
    pub region: String,
    /// The values the placeholders were bound to.
    pub bindings: BTreeMap<String, String>,
    /// Bucket and key policies that synth generates, by bucket or key ARN.
    pub resource_policies: BTreeMap<String, Value>,
    /// The permissions boundary is a policy the spec names but does not define, so
    /// its contents cannot be evaluated here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
    pub roles: Vec<RoleCases>,
    /// Flows not evaluated, with the reason.
    pub skipped: Vec<String>,
}

impl Cases {
    /// Puts a deployed role's ARN where its cases have the example one (the requests'
    /// principal and `aws:PrincipalArn`, the trust cases' resource and policy).
    pub fn set_principal(&mut self, role: &str, arn: &str) {
        let Some(r) = self.roles.iter_mut().find(|r| r.role == role) else {
            return;
        };
        let old = std::mem::replace(&mut r.principal, arn.to_owned());
        if old == arn {
            return;
        }
        for c in &mut r.cases {
            if c.resource == old {
                arn.clone_into(&mut c.resource);
            }
            if c.resource_policy.as_deref() == Some(old.as_str()) {
                c.resource_policy = Some(arn.to_owned());
            }
            for v in c.context.values_mut().filter(|v| **v == old) {
                arn.clone_into(v);
            }
        }
        if let Some(trust) = self.resource_policies.remove(&old) {
            self.resource_policies.insert(arn.to_owned(), trust);
        }
    }
}

/// A request a flow needs, and what makes another request the same need.
#[derive(Debug, Clone)]
struct Need {
    action: String,
    resource: String,
    /// Resources this need stands for (the granted pattern's meaning).
    pattern: String,
    context: BTreeMap<String, String>,
    /// Context keys that must hold (key → accepted patterns) for a request to be this need.
    constraints: BTreeMap<String, Vec<String>>,
    account: String,
    policy: Option<String>,
}

struct Ctx<'a> {
    plan: &'a Plan,
    bindings: BTreeMap<String, String>,
}

const SAMPLE: &str = "pipewright-sample.bin";

impl Ctx<'_> {
    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.plan.partition, self.plan.region, self.plan.account
        )
    }

    fn bind(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for (k, v) in &self.bindings {
            out = out.replace(&format!("${{{k}}}"), v);
        }
        out
    }

    fn key_of(&self, b: BucketId) -> Option<String> {
        let name = match b {
            BucketId::Artifacts => "ArtifactsKeyArn",
            BucketId::Logs | BucketId::LogsReplica => return None,
            BucketId::RawReplica
            | BucketId::CuratedReplica
            | BucketId::ResultsReplica
            | BucketId::ArtifactsReplica => "ReplicaKeyArn",
            _ => "DataKeyArn",
        };
        self.bindings.get(name).cloned()
    }

    fn table_arn(&self) -> String {
        self.arn(
            "dynamodb",
            &format!("table/{}", self.bindings["IndexTableName"]),
        )
    }

    fn s3(&self, action: &str, resource: String, pattern: String) -> Need {
        let bucket = resource.split('/').next().unwrap_or_default().to_owned();
        Need {
            action: action.to_owned(),
            resource,
            pattern,
            context: BTreeMap::new(),
            constraints: BTreeMap::new(),
            account: self.plan.account.clone(),
            policy: Some(bucket),
        }
    }

    fn plain(&self, action: &str, resource: String) -> Need {
        Need {
            action: action.to_owned(),
            pattern: resource.clone(),
            resource,
            context: BTreeMap::new(),
            constraints: BTreeMap::new(),
            account: self.plan.account.clone(),
            policy: None,
        }
    }

    /// KMS use through S3 for objects of bucket `b`.
    fn kms_s3(&self, out: &mut Vec<Need>, b: BucketId, actions: &[&str]) {
        let Some(key) = self.key_of(b) else { return };
        let via = format!("s3.{}.amazonaws.com", self.plan.bucket(b).region);
        let ctx_arn = bucket_arn(self.plan, b);
        for a in actions {
            out.push(self.kms(
                a,
                &key,
                &via,
                Some(("kms:EncryptionContext:aws:s3:arn", &ctx_arn)),
            ));
        }
    }

    fn kms(&self, action: &str, key: &str, via: &str, ctx: Option<(&str, &str)>) -> Need {
        let mut n = self.plain(action, key.to_owned());
        n.policy = Some(key.to_owned());
        n.context.insert("kms:ViaService".into(), via.to_owned());
        n.constraints
            .insert("kms:ViaService".into(), vec![via.to_owned()]);
        if let Some((k, v)) = ctx {
            n.context.insert(k.into(), v.to_owned());
            n.constraints.insert(k.into(), vec![v.to_owned()]);
        }
        n
    }

    fn kms_dynamodb(&self, out: &mut Vec<Need>, actions: &[&str]) {
        let key = self.bindings["DataKeyArn"].clone();
        let via = format!("dynamodb.{}.amazonaws.com", self.plan.region);
        for a in actions {
            out.push(self.kms(
                a,
                &key,
                &via,
                Some((
                    "kms:EncryptionContext:aws:dynamodb:tableName",
                    &self.bindings["IndexTableName"],
                )),
            ));
        }
    }

    fn list(&self, b: BucketId, prefix: &str) -> Need {
        let arn = bucket_arn(self.plan, b);
        let mut n = self.s3("s3:ListBucket", arn.clone(), arn);
        n.context.insert("s3:prefix".into(), prefix.to_owned());
        n.constraints.insert(
            "s3:prefix".into(),
            vec![
                prefix.trim_end_matches('/').to_owned(),
                format!("{prefix}*"),
            ],
        );
        n
    }

    fn logs(&self, out: &mut Vec<Need>, group: &str, actions: &[&str]) {
        // A group named only after deployment (API Gateway's execution logs carry the API
        // id) is granted with a `*`; the request names one concrete group.
        let pattern = self.arn("logs", &format!("log-group:{group}"));
        let g = self.arn(
            "logs",
            &format!("log-group:{}", group.replace('*', "a1b2c3d4e5")),
        );
        for a in actions {
            // Streams are created and written as log-stream resources; the group itself
            // is created and listed as a log-group resource.
            if matches!(*a, "logs:PutLogEvents" | "logs:CreateLogStream") {
                let mut n = self.plain(a, format!("{g}:log-stream:2026/11/27/sample"));
                n.pattern = format!("{pattern}:log-stream:*");
                out.push(n);
            } else {
                let mut n = self.plain(a, g.clone());
                n.pattern.clone_from(&pattern);
                out.push(n);
            }
        }
    }

    fn subnet(&self, i: usize) -> String {
        self.arn(
            "ec2",
            &format!("subnet/{}", self.bindings[&format!("PrivateSubnet{i}")]),
        )
    }
}

fn multipart_writer(service: &str) -> bool {
    service.starts_with("glue.") || service.starts_with("sagemaker.")
}

/// What a flow needs, as concrete requests.
fn needs(cx: &Ctx, flow: &Flow, service: &str) -> Vec<Need> {
    let plan = cx.plan;
    let mut out = Vec::new();
    let object = |b: BucketId, prefix: &str| {
        let arn = bucket_arn(plan, b);
        (
            format!("{arn}/{prefix}{SAMPLE}"),
            format!("{arn}/{prefix}*"),
        )
    };
    match &flow.access {
        Access::PutObjects { bucket, prefix } => {
            let (r, p) = object(*bucket, prefix);
            for a in ["s3:PutObject", "s3:AbortMultipartUpload"] {
                out.push(cx.s3(a, r.clone(), p.clone()));
            }
            if multipart_writer(service) {
                cx.kms_s3(&mut out, *bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
            } else {
                cx.kms_s3(&mut out, *bucket, &["kms:GenerateDataKey"]);
            }
        }
        Access::ReadObjects { bucket, prefix } => {
            if prefix.ends_with('/') {
                let (r, p) = object(*bucket, prefix);
                out.push(cx.s3("s3:GetObject", r, p));
                out.push(cx.list(*bucket, prefix));
            } else {
                let r = format!("{}/{prefix}", bucket_arn(plan, *bucket));
                out.push(cx.s3("s3:GetObject", r.clone(), r));
            }
            cx.kms_s3(&mut out, *bucket, &["kms:Decrypt"]);
        }
        Access::ScratchObjects { bucket, prefix } => {
            let (r, p) = object(*bucket, prefix);
            for a in [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ] {
                out.push(cx.s3(a, r.clone(), p.clone()));
            }
            out.push(cx.list(*bucket, prefix));
            let arn = bucket_arn(plan, *bucket);
            out.push(cx.s3("s3:GetBucketLocation", arn.clone(), arn));
            cx.kms_s3(&mut out, *bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
        }
        Access::WriteItems => {
            out.push(cx.plain("dynamodb:PutItem", cx.table_arn()));
            cx.kms_dynamodb(
                &mut out,
                &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            );
        }
        Access::ReadItems => {
            out.push(cx.plain("dynamodb:GetItem", cx.table_arn()));
            cx.kms_dynamodb(&mut out, &["kms:Decrypt"]);
        }
        Access::QueryIndex { index } => {
            out.push(cx.plain(
                "dynamodb:Query",
                format!("{}/index/{index}", cx.table_arn()),
            ));
            cx.kms_dynamodb(&mut out, &["kms:Decrypt"]);
        }
        Access::ExportTable { bucket, prefix } => {
            out.push(cx.plain("dynamodb:ExportTableToPointInTime", cx.table_arn()));
            let (r, p) = object(*bucket, prefix);
            for a in ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"] {
                out.push(cx.s3(a, r.clone(), p.clone()));
            }
            cx.kms_s3(&mut out, *bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
        }
        Access::StartJob { job } => {
            out.push(cx.plain("glue:StartJobRun", cx.arn("glue", &format!("job/{job}"))));
        }
        Access::WriteLogs { group } => {
            let mut actions = vec!["logs:CreateLogStream", "logs:PutLogEvents"];
            if !service.starts_with("lambda.") {
                actions.push("logs:CreateLogGroup");
            }
            cx.logs(&mut out, group, &actions);
        }
        Access::PushApiLogs { group } => cx.logs(
            &mut out,
            group,
            &[
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
        ),
        Access::SendMessages { queue } => {
            out.push(cx.plain("sqs:SendMessage", cx.arn("sqs", queue)));
            let key = cx.bindings["DataKeyArn"].clone();
            let via = format!("sqs.{}.amazonaws.com", plan.region);
            for a in ["kms:GenerateDataKey", "kms:Decrypt"] {
                out.push(cx.kms(a, &key, &via, None));
            }
        }
        Access::ReadCatalog { tables } | Access::UpdateCatalog { tables } => {
            let db = &plan.database;
            let update = matches!(flow.access, Access::UpdateCatalog { .. });
            let mut db_actions = vec!["glue:GetDatabase"];
            let mut table_actions = vec![
                "glue:GetTable",
                "glue:GetTables",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:BatchGetPartition",
            ];
            if update {
                table_actions.extend([
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                ]);
                if plan.on_delete == crate::spec::model::DeleteBehavior::Delete {
                    table_actions.extend([
                        "glue:DeleteTable",
                        "glue:DeletePartition",
                        "glue:BatchDeletePartition",
                    ]);
                }
            }
            db_actions.sort();
            let catalog = cx.arn("glue", "catalog");
            let database = cx.arn("glue", &format!("database/{db}"));
            for a in &db_actions {
                out.push(cx.plain(a, catalog.clone()));
                out.push(cx.plain(a, database.clone()));
            }
            for a in &table_actions {
                out.push(cx.plain(a, catalog.clone()));
                out.push(cx.plain(a, database.clone()));
                for t in tables {
                    out.push(cx.plain(a, cx.arn("glue", &format!("table/{db}/{t}"))));
                }
            }
        }
        Access::QueryAthena => {
            let wg = cx.arn("athena", &format!("workgroup/{}", plan.workgroup));
            for a in [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ] {
                out.push(cx.plain(a, wg.clone()));
            }
        }
        Access::AttachToVpc => {
            // The set each service documents for running in a VPC (Lambda's VPC access
            // execution permissions; Glue's connection permissions; SageMaker's VPC
            // training permissions), as `emit::iam::vpc_actions` records it per service.
            let (create_actions, manage_actions, star) = crate::emit::iam::vpc_actions(service);
            let n = plan.network.as_ref().map_or(0, |n| n.subnets.len());
            let eni = cx.arn("ec2", "network-interface/eni-0123456789abcdef0");
            let sg = cx.arn(
                "ec2",
                &format!("security-group/{}", cx.bindings["WorkloadSecurityGroup"]),
            );
            let subnets: Vec<String> = (1..=n).map(|i| cx.subnet(i)).collect();
            for a in create_actions {
                let mut m = cx.plain(a, eni.clone());
                m.pattern = cx.arn("ec2", "network-interface/*");
                out.push(m);
            }
            out.push(cx.plain("ec2:CreateNetworkInterface", sg));
            for s in &subnets {
                out.push(cx.plain("ec2:CreateNetworkInterface", s.clone()));
            }
            for a in manage_actions {
                for s in &subnets {
                    let mut m = cx.plain(a, eni.clone());
                    m.pattern = cx.arn("ec2", "network-interface/*");
                    m.context.insert("ec2:Subnet".into(), s.clone());
                    m.constraints.insert("ec2:Subnet".into(), subnets.clone());
                    out.push(m);
                }
            }
            for a in star {
                out.push(cx.plain(a, "*".into()));
            }
        }
        Access::RegisterModels => {
            let g = plan.model_package_group.as_deref().unwrap_or_default();
            let mut c = cx.plain(
                "sagemaker:CreateModelPackage",
                cx.arn("sagemaker", &format!("model-package/{g}/1")),
            );
            c.pattern = cx.arn("sagemaker", &format!("model-package/{g}/*"));
            out.push(c);
            out.push(cx.plain(
                "sagemaker:DescribeModelPackageGroup",
                cx.arn("sagemaker", &format!("model-package-group/{g}")),
            ));
        }
        Access::Replicate { from, to } => {
            let src = bucket_arn(plan, *from);
            let dst = bucket_arn(plan, *to);
            for a in ["s3:GetReplicationConfiguration", "s3:ListBucket"] {
                out.push(cx.s3(a, src.clone(), src.clone()));
            }
            for a in [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ] {
                out.push(cx.s3(a, format!("{src}/{SAMPLE}"), format!("{src}/*")));
            }
            for a in [
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
            ] {
                out.push(cx.s3(a, format!("{dst}/{SAMPLE}"), format!("{dst}/*")));
            }
            cx.kms_s3(&mut out, *from, &["kms:Decrypt"]);
            if let Some(key) = cx.key_of(*to) {
                let via = format!("s3.{}.amazonaws.com", plan.bucket(*to).region);
                for a in ["kms:Encrypt", "kms:GenerateDataKey"] {
                    out.push(cx.kms(
                        a,
                        &key,
                        &via,
                        Some(("kms:EncryptionContext:aws:s3:arn", &dst)),
                    ));
                }
            }
        }
        Access::EncryptBookmarks => {
            let key = cx.bindings["DataKeyArn"].clone();
            for a in ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] {
                let mut n = cx.plain(a, key.clone());
                n.policy = Some(key.clone());
                out.push(n);
            }
        }
    }
    out
}

/// Actions that a neighbour may try instead, by the action needed: (action, what it is).
fn swaps(action: &str) -> &'static [(&'static str, &'static str)] {
    match action {
        "s3:PutObject" => &[
            ("s3:DeleteObject", "delete instead of put"),
            ("s3:GetObject", "read instead of write"),
            ("s3:PutObjectAcl", "change the ACL instead of put"),
        ],
        "s3:GetObject" => &[
            ("s3:PutObject", "write instead of read"),
            ("s3:DeleteObject", "delete instead of read"),
        ],
        "s3:ListBucket" => &[
            (
                "s3:PutBucketPolicy",
                "change the bucket policy instead of list",
            ),
            ("s3:DeleteBucket", "delete the bucket instead of list"),
        ],
        "dynamodb:PutItem" => &[
            ("dynamodb:DeleteItem", "delete instead of put"),
            ("dynamodb:Scan", "scan instead of put"),
            ("dynamodb:UpdateItem", "update instead of put"),
        ],
        "dynamodb:GetItem" => &[
            ("dynamodb:PutItem", "write instead of read"),
            ("dynamodb:Scan", "scan instead of get"),
        ],
        "dynamodb:Query" => &[
            ("dynamodb:Scan", "scan instead of query"),
            ("dynamodb:PutItem", "write instead of query"),
        ],
        "dynamodb:ExportTableToPointInTime" => &[("dynamodb:DeleteTable", "delete the table")],
        "glue:StartJobRun" => &[
            ("glue:UpdateJob", "change the job instead of start it"),
            ("glue:DeleteJob", "delete the job instead of start it"),
        ],
        "glue:GetTable" => &[
            ("glue:DeleteTable", "delete the table instead of read"),
            ("glue:DeleteDatabase", "delete the database instead of read"),
        ],
        "logs:CreateLogGroup" | "logs:DescribeLogStreams" => &[
            ("logs:DeleteLogGroup", "delete the log group"),
            ("logs:PutRetentionPolicy", "change the retention"),
        ],
        "logs:PutLogEvents" => &[
            ("logs:DeleteLogStream", "delete the stream instead of write"),
            ("logs:GetLogEvents", "read instead of write"),
        ],
        "sqs:SendMessage" => &[
            ("sqs:ReceiveMessage", "receive instead of send"),
            ("sqs:PurgeQueue", "purge instead of send"),
        ],
        "kms:GenerateDataKey" => &[
            ("kms:ScheduleKeyDeletion", "delete the key"),
            ("kms:PutKeyPolicy", "change the key policy"),
        ],
        "kms:Decrypt" => &[("kms:ReEncryptFrom", "re-encrypt instead of decrypt")],
        "athena:StartQueryExecution" => &[
            ("athena:DeleteWorkGroup", "delete the workgroup"),
            ("athena:UpdateWorkGroup", "change the workgroup"),
        ],
        "sagemaker:CreateModelPackage" => {
            &[("sagemaker:DeleteModelPackage", "delete instead of register")]
        }
        "ec2:CreateNetworkInterface" => &[("ec2:RunInstances", "launch an instance")],
        "ec2:DescribeSubnets" => &[("ec2:DescribeInstances", "describe instances")],
        _ => &[],
    }
}

fn other_name(name: &str) -> String {
    format!("{name}-other")
}

/// Neighbours of a need: (request, what differs).
fn neighbours(cx: &Ctx, n: &Need) -> Vec<(Need, String)> {
    let plan = cx.plan;
    let mut out: Vec<(Need, String)> = Vec::new();
    let mut push = |mut m: Need, what: &str| {
        if m.action.starts_with("s3:") {
            m.policy = Some(m.resource.split('/').next().unwrap_or_default().to_owned());
        }
        out.push((m, what.to_owned()));
    };
    let service = n.action.split(':').next().unwrap_or_default();
    for (a, what) in swaps(&n.action) {
        let mut m = n.clone();
        m.action = (*a).to_owned();
        if !a.starts_with("kms:") && !matches!(*a, "s3:ListBucket") {
            m.context.retain(|k, _| !k.starts_with("s3:prefix"));
        }
        push(m, what);
    }
    match service {
        "s3" => {
            let (bucket, key) = match n.resource.split_once('/') {
                Some((b, k)) => (b.to_owned(), Some(k.to_owned())),
                None => (n.resource.clone(), None),
            };
            for b in plan.buckets.values() {
                let arn = format!("arn:{}:s3:::{}", plan.partition, b.name);
                if arn == bucket {
                    continue;
                }
                let mut m = n.clone();
                m.resource = match &key {
                    Some(k) => format!("{arn}/{k}"),
                    None => arn.clone(),
                };
                push(m, &format!("another bucket ({})", b.name));
            }
            if let Some(k) = &key {
                // Sibling and parent of the deepest folder of the granted prefix.
                let prefix = n
                    .pattern
                    .split_once('/')
                    .map(|(_, p)| p.trim_end_matches('*'))
                    .unwrap_or_default();
                let dir = prefix.trim_end_matches('/');
                if !dir.is_empty() && prefix.ends_with('/') {
                    let (parent, last) = match dir.rsplit_once('/') {
                        Some((p, l)) => (format!("{p}/"), l.to_owned()),
                        None => (String::new(), dir.to_owned()),
                    };
                    let rest = &k[prefix.len().min(k.len())..];
                    for (sib, what) in [
                        (
                            format!("{parent}{last}x/{rest}"),
                            "sibling prefix sharing the name's start",
                        ),
                        (format!("{parent}{last}-sibling/{rest}"), "sibling prefix"),
                        (format!("{parent}{rest}"), "parent prefix"),
                    ] {
                        let mut m = n.clone();
                        m.resource = format!("{bucket}/{sib}");
                        push(m, what);
                    }
                }
            }
            if let Some(p) = n.context.get("s3:prefix") {
                let dir = p.trim_end_matches('/');
                let (parent, last) = match dir.rsplit_once('/') {
                    Some((a, l)) => (format!("{a}/"), l.to_owned()),
                    None => (String::new(), dir.to_owned()),
                };
                for (v, what) in [
                    (format!("{parent}{last}x/"), "list a sibling prefix"),
                    (parent.clone(), "list the parent prefix"),
                ] {
                    let mut m = n.clone();
                    m.context.insert("s3:prefix".into(), v);
                    push(m, what);
                }
            }
        }
        "dynamodb" => {
            let table = cx.table_arn();
            let mut m = n.clone();
            m.resource = n.resource.replacen(&table, &other_name(&table), 1);
            push(m, "another table");
            if let Some((t, idx)) = n.resource.split_once("/index/") {
                let mut m = n.clone();
                m.resource = format!("{t}/index/{}", other_name(idx));
                push(m, "another index");
                let mut m = n.clone();
                m.resource = t.to_owned();
                push(m, "the table instead of the index");
            }
        }
        "glue" => {
            if let Some((head, job)) = n.resource.split_once(":job/") {
                for t in &plan.transforms {
                    if t.job_name != job {
                        let mut m = n.clone();
                        m.resource = format!("{head}:job/{}", t.job_name);
                        push(m, "another Glue job");
                    }
                }
                let mut m = n.clone();
                m.resource = format!("{head}:job/{}", other_name(job));
                push(m, "another Glue job");
            } else if n.resource.contains(":table/") {
                let mut m = n.clone();
                m.resource = format!("{}_other", n.resource);
                push(m, "another catalog table");
            } else if n.resource.contains(":database/") {
                let mut m = n.clone();
                m.resource = format!("{}_other", n.resource);
                push(m, "another database");
            }
        }
        "logs" => {
            if let Some((head, _)) = n.resource.split_once(":log-group:") {
                let group = n.resource[head.len() + ":log-group:".len()..]
                    .split(":log-stream:")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let mut m = n.clone();
                m.resource = n.resource.replacen(&group, &other_name(&group), 1);
                push(m, "another log group");
            }
        }
        "sqs" => {
            let mut m = n.clone();
            m.resource = other_name(&n.resource);
            push(m, "another queue");
        }
        "athena" => {
            let mut m = n.clone();
            m.resource = cx.arn("athena", "workgroup/primary");
            push(m, "another workgroup");
        }
        "sagemaker" => {
            if let Some(g) = plan.model_package_group.as_deref() {
                let mut m = n.clone();
                m.resource = n.resource.replacen(g, &other_name(g), 1);
                push(m, "another model package group");
            }
        }
        "ec2" => {
            if n.resource.contains(":subnet/") {
                let mut m = n.clone();
                m.resource = cx.arn("ec2", "subnet/subnet-0fffffffffffffff0");
                push(m, "another subnet");
            }
            if n.context.contains_key("ec2:Subnet") {
                let mut m = n.clone();
                m.context.insert(
                    "ec2:Subnet".into(),
                    cx.arn("ec2", "subnet/subnet-0fffffffffffffff0"),
                );
                push(m, "an interface in another subnet");
            }
        }
        "kms" => {
            let mut m = n.clone();
            let other_key = format!(
                "{}:key/00000000-0000-4000-8000-0000000000ff",
                n.resource.split(":key/").next().unwrap_or_default()
            );
            m.resource = other_key;
            m.policy = None;
            push(m, "another key");
            if n.context.contains_key("kms:ViaService") {
                let mut m = n.clone();
                m.context.insert(
                    "kms:ViaService".into(),
                    format!("secretsmanager.{}.amazonaws.com", plan.region),
                );
                push(m, "the key through another service");
                for other in ["s3", "dynamodb", "sqs"] {
                    let via = format!("{other}.{}.amazonaws.com", plan.region);
                    if n.context["kms:ViaService"] != via {
                        let mut m = n.clone();
                        m.context.insert("kms:ViaService".into(), via);
                        push(m, "the key through another service");
                    }
                }
            } else {
                let mut m = n.clone();
                m.context.insert(
                    "kms:ViaService".into(),
                    format!("secretsmanager.{}.amazonaws.com", plan.region),
                );
                push(m, "the key through another service");
            }
            if let Some(arn) = n.context.get("kms:EncryptionContext:aws:s3:arn") {
                for b in plan.buckets.values() {
                    let other = format!("arn:{}:s3:::{}", plan.partition, b.name);
                    if &other != arn {
                        let mut m = n.clone();
                        m.context
                            .insert("kms:EncryptionContext:aws:s3:arn".into(), other);
                        push(m, &format!("the key for another bucket ({})", b.name));
                    }
                }
            }
            if n.context
                .contains_key("kms:EncryptionContext:aws:dynamodb:tableName")
            {
                let mut m = n.clone();
                m.context.insert(
                    "kms:EncryptionContext:aws:dynamodb:tableName".into(),
                    other_name(&cx.bindings["IndexTableName"]),
                );
                push(m, "the key for another table");
            }
        }
        _ => {}
    }
    out
}

/// Whether request `r` is what need `n` asks for.
fn is_need(n: &Need, r: &Need) -> bool {
    n.action.eq_ignore_ascii_case(&r.action)
        && super::norm::resource_covers(&n.pattern, &r.resource)
        && n.constraints.iter().all(|(k, pats)| {
            r.context
                .get(k)
                .is_some_and(|v| pats.iter().any(|p| glob(p, v)))
        })
}

fn bindings(plan: &Plan) -> BTreeMap<String, String> {
    let kms = |region: &str, n: u8| {
        format!(
            "arn:{}:kms:{region}:{}:key/0d5e1a4b-7c2f-4e8a-9b3d-00000000000{n}",
            plan.partition, plan.account
        )
    };
    let mut b = BTreeMap::from([
        ("DataKeyArn".to_owned(), kms(&plan.region, 1)),
        ("ArtifactsKeyArn".to_owned(), kms(&plan.region, 2)),
        (
            "ReplicaKeyArn".to_owned(),
            kms(plan.replica_region.as_deref().unwrap_or(&plan.region), 3),
        ),
        (
            "WorkloadSecurityGroup".to_owned(),
            "sg-0b1c2d3e4f5a6b7c8".to_owned(),
        ),
        // A name of the shape CloudFormation gives the table (`<stack>-IndexTable-<suffix>`).
        (
            "IndexTableName".to_owned(),
            format!(
                "{}-IndexTable-1KX8W3PZ0Q7M",
                plan.stacks
                    .get(&crate::plan::StackId::Storage)
                    .map_or("storage", String::as_str)
            ),
        ),
    ]);
    for i in 1..=3 {
        b.insert(
            format!("PrivateSubnet{i}"),
            format!("subnet-0a1b2c3d4e5f6a7b{i}"),
        );
    }
    b
}

fn bind_value(cx: &Ctx, v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(cx.bind(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| bind_value(cx, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), bind_value(cx, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn has_intrinsic(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k == "Ref" || k.starts_with("Fn::") || has_intrinsic(x)),
        Value::Array(a) => a.iter().any(has_intrinsic),
        _ => false,
    }
}

/// The bucket and key policies synth generates, by the bucket's or key's ARN.
fn resource_policies(cx: &Ctx) -> Result<BTreeMap<String, Value>, String> {
    let plan = cx.plan;
    let out = crate::emit::synth(plan).map_err(|_| "synth failed".to_owned())?;
    let mut policies = BTreeMap::new();
    for (path, bytes) in &out.files {
        if !path.starts_with("stacks") || path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let t: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(resources) = t.get("Resources").and_then(Value::as_object) else {
            continue;
        };
        for (logical, r) in resources {
            let props = &r["Properties"];
            let (arn, doc) = match r["Type"].as_str() {
                Some("AWS::S3::BucketPolicy") => {
                    let name = match &props["Bucket"] {
                        Value::String(s) => s.clone(),
                        Value::Object(o) if o.contains_key("Ref") => {
                            let target = o["Ref"].as_str().unwrap_or_default();
                            resources
                                .get(target)
                                .and_then(|b| b["Properties"]["BucketName"].as_str())
                                .ok_or_else(|| {
                                    format!(
                                        "{}: {logical}: bucket name not literal",
                                        path.display()
                                    )
                                })?
                                .to_owned()
                        }
                        _ => {
                            return Err(format!("{}: {logical}: bucket not found", path.display()));
                        }
                    };
                    (
                        format!("arn:{}:s3:::{name}", plan.partition),
                        &props["PolicyDocument"],
                    )
                }
                Some("AWS::KMS::Key") => {
                    let Some(arn) = cx.bindings.get(&format!("{logical}Arn")) else {
                        return Err(format!(
                            "{}: key {logical} has no placeholder binding",
                            path.display()
                        ));
                    };
                    (arn.clone(), &props["KeyPolicy"])
                }
                _ => continue,
            };
            if has_intrinsic(doc) {
                return Err(format!(
                    "{}: {logical}: the policy uses intrinsic functions, which the cases cannot evaluate",
                    path.display()
                ));
            }
            policies.insert(arn, bind_value(cx, doc));
        }
    }
    Ok(policies)
}

/// Who may assume a role: its service from the pipeline's account (allowed); another
/// service, a principal of another account and, where the trust policy pins
/// `aws:SourceAccount`, the same service acting for another account (denied).
fn trust_cases(
    plan: &Plan,
    role_arn: &str,
    service: &str,
    trust: &Value,
    out: &mut BTreeSet<Case>,
) {
    let other_account = if plan.account == "999999999999" {
        "888888888888"
    } else {
        "999999999999"
    };
    let case = |expect, kind: &str, principal: String, source: &str| Case {
        expect,
        flow: "trust".into(),
        kind: kind.into(),
        action: "sts:AssumeRole".into(),
        resource: role_arn.to_owned(),
        resource_account: plan.account.clone(),
        context: BTreeMap::from([("aws:SourceAccount".to_owned(), source.to_owned())]),
        resource_policy: Some(role_arn.to_owned()),
        principal: Some(principal),
    };
    out.insert(case(
        Expect::Allowed,
        "need",
        service.to_owned(),
        &plan.account,
    ));
    for other in [
        "lambda.amazonaws.com",
        "glue.amazonaws.com",
        "ec2.amazonaws.com",
    ] {
        if other != service {
            out.insert(case(
                Expect::Denied,
                "another service assumes the role",
                other.to_owned(),
                &plan.account,
            ));
        }
    }
    out.insert(case(
        Expect::Denied,
        "a principal of another account assumes the role",
        format!("arn:{}:iam::{other_account}:role/intruder", plan.partition),
        other_account,
    ));
    if trust.to_string().contains("aws:SourceAccount") {
        out.insert(case(
            Expect::Denied,
            "the service assumes the role for another account",
            service.to_owned(),
            other_account,
        ));
    }
}

/// A name of the shape CloudFormation gives a role it names (`<stack>-<LogicalId>-<suffix>`,
/// cut to IAM's 64 characters), for the role's ARN in the cases: key policies must admit
/// it by the role's path, not by a name known in advance.
fn generated_role_name(plan: &Plan, id: &str, role: &crate::plan::RolePlan) -> String {
    const SUFFIX: &str = "-Q2X7M4K9T1ZB";
    let stack = plan.stacks.get(&role.stack).map_or("stack", String::as_str);
    let mut head = format!("{stack}-{}", crate::emit::cfn::logical_id(&[id, "role"]));
    // Stack names and logical ids are ASCII.
    head.truncate(64 - SUFFIX.len());
    head + SUFFIX
}

/// Builds every role's cases, with placeholders bound to test values.
pub fn build(plan: &Plan) -> Result<Cases, String> {
    build_with(plan, &BTreeMap::new())
}

/// Builds every role's cases, with some placeholders bound to given values (those
/// learned from a deployed account) and the rest to test values.
pub fn build_with(plan: &Plan, bound: &BTreeMap<String, String>) -> Result<Cases, String> {
    let mut b = bindings(plan);
    b.extend(bound.iter().map(|(k, v)| (k.clone(), v.clone())));
    let cx = Ctx { plan, bindings: b };
    let mut resource_policies = resource_policies(&cx)?;
    let iam = crate::emit::iam::roles(plan);
    let mut roles = Vec::new();
    let mut skipped = Vec::new();
    for f in &plan.flows {
        if let Principal::External(p) = &f.principal {
            skipped.push(format!(
                "{}: external principal {p} (its own account's policies are unknown)",
                f.id
            ));
        }
    }
    for (id, role) in &plan.roles {
        let r = &iam[id];
        let principal = role.arn(
            plan.partition,
            &plan.account,
            &generated_role_name(plan, id, role),
        );
        let identity_policies = r
            .policies
            .iter()
            .map(|(name, doc)| NamedPolicy {
                name: name.clone(),
                policy: bind_value(&cx, &serde_json::to_value(doc).expect("serialises")),
            })
            .collect();
        let mut all_needs: Vec<(String, Need)> = Vec::new();
        for flow in plan.flows_of(id) {
            for n in needs(&cx, flow, &role.service) {
                all_needs.push((flow.id.clone(), n));
            }
        }
        let base_ctx = |n: &Need| {
            let mut c = n.context.clone();
            c.insert("aws:PrincipalArn".into(), principal.clone());
            c.insert("aws:PrincipalAccount".into(), plan.account.clone());
            c.insert("aws:SecureTransport".into(), "true".into());
            if n.action.starts_with("kms:") {
                c.insert("kms:CallerAccount".into(), plan.account.clone());
            }
            c
        };
        let mut cases: BTreeSet<Case> = BTreeSet::new();
        for (flow, n) in &all_needs {
            cases.insert(Case {
                expect: Expect::Allowed,
                flow: flow.clone(),
                kind: "need".into(),
                action: n.action.clone(),
                resource: n.resource.clone(),
                resource_account: n.account.clone(),
                context: base_ctx(n),
                resource_policy: n
                    .policy
                    .clone()
                    .filter(|p| resource_policies.contains_key(p)),
                principal: None,
            });
        }
        let mut seen: BTreeSet<(String, String, BTreeMap<String, String>)> = BTreeSet::new();
        for (flow, n) in &all_needs {
            for (m, what) in neighbours(&cx, n) {
                if all_needs.iter().any(|(_, x)| is_need(x, &m)) {
                    continue;
                }
                if !seen.insert((m.action.clone(), m.resource.clone(), m.context.clone())) {
                    continue;
                }
                cases.insert(Case {
                    expect: Expect::Denied,
                    flow: flow.clone(),
                    kind: what,
                    action: m.action.clone(),
                    resource: m.resource.clone(),
                    resource_account: m.account.clone(),
                    context: base_ctx(&m),
                    resource_policy: m
                        .policy
                        .clone()
                        .filter(|p| resource_policies.contains_key(p)),
                    principal: None,
                });
            }
        }
        trust_cases(plan, &principal, &role.service, &r.trust, &mut cases);
        resource_policies.insert(principal.clone(), r.trust.clone());
        roles.push(RoleCases {
            role: r.name.clone(),
            principal: principal.clone(),
            identity_policies,
            actions_granted: crate::emit::iam::actions_of(r).len(),
            cases: cases.into_iter().collect(),
        });
    }
    Ok(Cases {
        pipeline: plan.pipeline.clone(),
        environment: plan.env.clone(),
        partition: plan.partition.to_owned(),
        account: plan.account.clone(),
        region: plan.region.clone(),
        bindings: cx.bindings.clone(),
        resource_policies,
        boundary: plan.permissions_boundary.clone(),
        roles,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(env: &str) -> Plan {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
        let checked = crate::spec::check(&path, &crate::spec::RealFiles).unwrap();
        crate::plan::lower(&checked.validated().unwrap(), env).unwrap()
    }

    #[test]
    fn neighbours_come_from_the_plan_and_never_repeat_a_need() {
        let c = build(&plan("prod")).unwrap();
        let ingest = c
            .roles
            .iter()
            .find(|r| r.role.ends_with("-ingest"))
            .unwrap();
        let kinds: BTreeSet<&str> = ingest
            .cases
            .iter()
            .filter(|x| x.expect == Expect::Denied)
            .map(|x| x.kind.as_str())
            .collect();
        for k in [
            "sibling prefix",
            "parent prefix",
            "delete instead of put",
            "read instead of write",
            "another table",
            "the key through another service",
            "another queue",
        ] {
            assert!(kinds.contains(k), "{k} missing from {kinds:?}");
        }
        assert!(kinds.iter().any(|k| k.starts_with("another bucket (")));
        let pos = c
            .roles
            .iter()
            .find(|r| r.role.ends_with("-transform-pos_sales"))
            .unwrap();
        // Every other transform's job is a neighbour of the one a role may start, if any.
        let jobs = c
            .roles
            .iter()
            .flat_map(|r| &r.cases)
            .filter(|x| x.kind == "another Glue job")
            .count();
        assert!(jobs > 0 || !pos.cases.iter().any(|x| x.action == "glue:StartJobRun"));
        for r in &c.roles {
            let key = |x: &Case| {
                (
                    x.action.clone(),
                    x.resource.clone(),
                    x.context.clone(),
                    x.principal.clone(),
                )
            };
            let allowed: BTreeSet<_> = r
                .cases
                .iter()
                .filter(|x| x.expect == Expect::Allowed)
                .map(key)
                .collect();
            for d in r.cases.iter().filter(|x| x.expect == Expect::Denied) {
                assert!(
                    !allowed.contains(&key(d)),
                    "{}: {d:?} is both a need and a neighbour",
                    r.role
                );
            }
        }
    }

    #[test]
    fn a_deployed_role_arn_replaces_the_example_one() {
        let mut c = build(&plan("dev")).unwrap();
        let old = c
            .roles
            .iter()
            .find(|r| r.role.ends_with("-ingest"))
            .unwrap()
            .principal
            .clone();
        assert!(
            old.starts_with("arn:aws:iam::111111111111:role/transit-payments-dev-ingest/transit-payments-dev-ingest-IngestRole-"),
            "{old}"
        );
        let deployed = "arn:aws:iam::111111111111:role/transit-payments-dev-ingest/Deployed-1";
        c.set_principal("transit-payments-dev-ingest", deployed);
        let r = c
            .roles
            .iter()
            .find(|r| r.role.ends_with("-ingest"))
            .unwrap();
        assert_eq!(r.principal, deployed);
        let text = serde_json::to_string(&c).unwrap();
        assert!(!text.contains(&old), "the example ARN is left somewhere");
        assert!(
            c.resource_policies.contains_key(deployed),
            "the trust policy"
        );
        let trust: Vec<&Case> = r.cases.iter().filter(|x| x.flow == "trust").collect();
        assert!(!trust.is_empty());
        assert!(trust.iter().all(|x| x.resource == deployed));
        assert!(
            r.cases
                .iter()
                .filter(|x| x.flow != "trust")
                .all(|x| x.context["aws:PrincipalArn"] == deployed)
        );
        // Other roles keep theirs.
        let crawler = c
            .roles
            .iter()
            .find(|r| r.role.ends_with("-crawler"))
            .unwrap();
        assert!(
            crawler
                .principal
                .contains(":role/transit-payments-dev-crawler/")
        );
    }

    #[test]
    fn placeholders_are_bound_for_the_partition() {
        let c = build(&plan("dev")).unwrap();
        let text = serde_json::to_string(&c).unwrap();
        assert!(!text.contains("${DataKeyArn}"));
        assert!(c.resource_policies.contains_key(&c.bindings["DataKeyArn"]));
        assert!(
            c.resource_policies
                .keys()
                .any(|k| k.starts_with("arn:aws:s3:::transit-payments-dev-raw-"))
        );
    }
}
