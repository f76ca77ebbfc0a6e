//! The resource policies the stacks attach — bucket policies, key policies, the alarm
//! topic's and the dead-letter queue's policies — as plain JSON built from the plan, one
//! function per kind of resource. The stacks serialise these statements, and
//! `review::access` reads the very same ones into the access model, so the model and the
//! templates cannot disagree. Not identity policies (`iam`), nor the grants that are
//! properties rather than policies (Lambda permissions, API methods, QuickSight
//! permissions), which the stacks build and the access model reads from the same plan
//! facts.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::cfn::logical_id;
use super::iam::bucket_arn;
use crate::plan::{Access, BucketId, Plan, Principal};

/// A statement and the flows it comes from (none: it comes from a setting or from the
/// posture pipewright always applies).
#[derive(Debug, Clone, PartialEq)]
pub struct Stated {
    pub statement: Value,
    pub flows: Vec<String>,
}

fn fixed(statement: Value) -> Stated {
    Stated {
        statement,
        flows: Vec::new(),
    }
}

/// The KMS keys pipewright creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyId {
    /// The pipeline's data key (foundation stack).
    Data,
    /// The artifacts bucket's key (bootstrap stack).
    Artifacts,
    /// The replica region's key (replica stack).
    Replica,
}

impl KeyId {
    /// The key's alias: its name for people and in the access model.
    pub fn alias(self, plan: &Plan) -> String {
        match self {
            KeyId::Data => plan.key_alias.clone(),
            KeyId::Artifacts => format!("alias/{}-{}-artifacts", plan.pipeline, plan.env),
            KeyId::Replica => format!("{}-replica", plan.key_alias),
        }
    }

    /// The keys a plan has.
    pub fn all(plan: &Plan) -> Vec<KeyId> {
        let mut out = vec![KeyId::Data, KeyId::Artifacts];
        if plan.stacks.contains_key(&crate::plan::StackId::Replica) && plan.replica_region.is_some()
        {
            out.insert(0, KeyId::Replica);
        }
        out
    }
}

fn root(p: &Plan) -> String {
    format!("arn:{}:iam::{}:root", p.partition, p.account)
}

/// Every statement of a key's policy: administration first, then its uses.
pub fn key_policy(p: &Plan, key: KeyId) -> Vec<Stated> {
    let mut all = vec![fixed(json!({
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": p.key_admins},
        "Action": [
            "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
            "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:ScheduleKeyDeletion",
            "kms:TagResource", "kms:UntagResource", "kms:Update*"
        ],
        "Resource": "*",
    }))];
    match key {
        KeyId::Data => all.extend(data_key(p)),
        KeyId::Artifacts => all.push(fixed(json!({
            "Sid": "UseThroughS3InThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": root(p)},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": crate::aws::via_service("s3", &p.region), "kms:CallerAccount": p.account}},
        }))),
        KeyId::Replica => all.extend(replica_key(p)),
    }
    all
}

/// The data key's uses: the pipeline's roles, CloudWatch, AWS services through grants,
/// deployers through services, and outside readers through S3.
fn data_key(p: &Plan) -> Vec<Stated> {
    let root = root(p);
    let roles: Vec<String> = p
        .roles
        .values()
        .map(|r| r.arn_pattern(p.partition, &p.account))
        .collect();
    let deploy_via: Vec<String> = ["dynamodb", "lambda", "sns", "sqs"]
        .iter()
        .map(|s| crate::aws::via_service(s, &p.region))
        .collect();
    let mut statements = vec![
        json!({
            "Sid": "UseByPipelineRoles",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": roles}},
        }),
        json!({
            "Sid": "UseByCloudWatchLogs",
            "Effect": "Allow",
            "Principal": {"Service": crate::aws::principal("logs", &p.region)},
            "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": format!("arn:{}:logs:{}:{}:log-group:*", p.partition, p.region, p.account)}},
        }),
        json!({
            "Sid": "UseByCloudWatchAlarms",
            "Effect": "Allow",
            "Principal": {"Service": crate::aws::principal("cloudwatch", &p.region)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": p.account}},
        }),
        json!({
            "Sid": "GrantsForAwsServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:CreateGrant", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        }),
        // Deployers (through CloudFormation) encrypt Lambda environment variables and
        // create tables and queues with the key; only through these services.
        json!({
            "Sid": "DeployThroughServices",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": p.account,
                    "kms:ViaService": deploy_via,
                }
            },
        }),
    ];
    let mut out: Vec<Stated> = statements.drain(..).map(fixed).collect();
    let (mut readers, mut flows) = (BTreeSet::new(), Vec::new());
    for f in &p.flows {
        if let Principal::External(a) = &f.principal {
            readers.insert(a.clone());
            flows.push(f.id.clone());
        }
    }
    if !readers.is_empty() {
        out.push(Stated {
            statement: json!({
                "Sid": "DecryptForReaders",
                "Effect": "Allow",
                "Principal": {"AWS": readers},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": crate::aws::via_service("s3", &p.region)}},
            }),
            flows,
        });
    }
    out
}

/// The replica key's uses: the replication roles encrypt, the way back decrypts.
fn replica_key(p: &Plan) -> Vec<Stated> {
    let role_arns = |ids: &[&str]| -> (Vec<String>, Vec<String>) {
        let arns = ids
            .iter()
            .filter_map(|id| p.roles.get(*id))
            .map(|r| r.arn_pattern(p.partition, &p.account))
            .collect();
        let flows = p
            .flows
            .iter()
            .filter(|f| matches!(&f.principal, Principal::Role(r) if ids.contains(&r.as_str())))
            .filter(|f| matches!(f.access, Access::Replicate { .. }))
            .map(|f| f.id.clone())
            .collect();
        (arns, flows)
    };
    let root = root(p);
    let (out_roles, out_flows) = role_arns(&["bootstrap-replication", "replication"]);
    let (back_roles, back_flows) = role_arns(&["replica-return"]);
    vec![
        Stated {
            statement: json!({
                "Sid": "UseByReplicationRole",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": ["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": out_roles}},
            }),
            flows: out_flows,
        },
        Stated {
            statement: json!({
                "Sid": "ReadByReturnRole",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": back_roles}},
            }),
            flows: back_flows,
        },
    ]
}

/// Every statement of a bucket's policy: TLS only, then S3 log delivery (access-log
/// buckets) and the principals outside the pipeline (`security.readers`).
pub fn bucket_policy(p: &Plan, id: BucketId) -> Vec<Stated> {
    let arn = bucket_arn(p, id);
    let mut out = vec![fixed(json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [arn, format!("{arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": false}},
    }))];
    if matches!(id, BucketId::Logs | BucketId::LogsReplica) {
        out.push(fixed(json!({
            "Sid": "AllowServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": crate::aws::principal("logging.s3", &p.region)},
            "Action": "s3:PutObject",
            "Resource": format!("{arn}/*"),
            "Condition": {"StringEquals": {"aws:SourceAccount": p.account}},
        })));
    }
    for f in &p.flows {
        let (Principal::External(who), Access::ReadObjects { bucket, prefix }) =
            (&f.principal, &f.access)
        else {
            continue;
        };
        if *bucket != id {
            continue;
        }
        let sid = logical_id(&["reader", &f.id]);
        let flows = vec![f.id.clone()];
        out.push(Stated {
            statement: json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": who},
                "Action": "s3:GetObject",
                "Resource": format!("{arn}/{prefix}*"),
            }),
            flows: flows.clone(),
        });
        out.push(Stated {
            statement: json!({
                "Sid": format!("{sid}List"),
                "Effect": "Allow",
                "Principal": {"AWS": who},
                "Action": "s3:ListBucket",
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix.trim_end_matches('/'), format!("{prefix}*")]}},
            }),
            flows,
        });
    }
    out
}

/// The alarm topic's ARN (its name is derived in the plan).
pub fn alarm_topic_arn(p: &Plan) -> String {
    format!(
        "arn:{}:sns:{}:{}:{}",
        p.partition, p.region, p.account, p.alarm_topic
    )
}

/// The dead-letter queue's ARN.
pub fn dead_letter_queue_arn(p: &Plan) -> String {
    format!(
        "arn:{}:sqs:{}:{}:{}",
        p.partition, p.region, p.account, p.dlq_name
    )
}

fn deny_insecure(action: &str, resource: &str) -> Stated {
    fixed(json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": false}},
    }))
}

/// The alarm topic's policy: CloudWatch alarms of this account publish, over TLS only.
pub fn topic_policy(p: &Plan) -> Vec<Stated> {
    let arn = alarm_topic_arn(p);
    vec![
        fixed(json!({
            "Sid": "AlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": crate::aws::principal("cloudwatch", &p.region)},
            "Action": "sns:Publish",
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": p.account}},
        })),
        deny_insecure("sns:Publish", &arn),
    ]
}

/// The dead-letter queue's policy: TLS only.
pub fn queue_policy(p: &Plan) -> Vec<Stated> {
    vec![deny_insecure("sqs:*", &dead_letter_queue_arn(p))]
}

/// A policy document of statements.
pub fn document(statements: &[Stated]) -> Value {
    let st: Vec<&Value> = statements.iter().map(|s| &s.statement).collect();
    json!({"Version": "2012-10-17", "Statement": st})
}
