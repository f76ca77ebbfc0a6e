//! The foundation stack: the pipeline's data key (with a key policy admitting the
//! pipeline's roles, CloudWatch, AWS services through grants, deployers through
//! services, and outside readers through S3) and the alarm topic. Not the artifacts or
//! replica keys (`bootstrap`, `replica`).

use serde_json::{Value, json};

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template, obj};
use crate::plan::StackId;

/// The data key's policy statements after key administration.
fn key_statements(cx: &Ctx<'_>) -> Vec<Value> {
    let p = cx.plan;
    let root = format!("arn:{}:iam::{}:root", p.partition, p.account);
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
    let readers: Vec<String> = p
        .flows
        .iter()
        .filter_map(|f| match &f.principal {
            crate::plan::Principal::External(a) => Some(a.clone()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !readers.is_empty() {
        statements.push(json!({
            "Sid": "DecryptForReaders",
            "Effect": "Allow",
            "Principal": {"AWS": readers},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": crate::aws::via_service("s3", &p.region)}},
        }));
    }
    statements
}

/// The data key and its alias.
fn data_key(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add(
        "DataKey",
        cx.key(
            &format!("{}-{}: pipeline data", p.pipeline, p.env),
            key_statements(cx),
        ),
    );
    t.add(
        "DataKeyAlias",
        Resource::new("AWS::KMS::Alias")
            .p("AliasName", Expr::s(&p.key_alias))
            .p("TargetKeyId", Expr::r("DataKey")),
    );
}

/// The alarm topic, encrypted with the data key, TLS-only, published to by CloudWatch
/// alarms of this account, and the optional e-mail subscription.
fn alarm_topic(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add(
        "AlarmTopic",
        Resource::new("AWS::SNS::Topic")
            .p("TopicName", Expr::s(&p.alarm_topic))
            .p("KmsMasterKeyId", Expr::r("DataKey"))
            .p("Tags", cx.tags()),
    );
    t.add(
        "AlarmTopicPolicy",
        Resource::new("AWS::SNS::TopicPolicy")
            .p("Topics", Expr::list([Expr::r("AlarmTopic")]))
            .p(
                "PolicyDocument",
                obj([
                    ("Version", "2012-10-17".into()),
                    (
                        "Statement",
                        Expr::list([
                            obj([
                                ("Sid", "AlarmsPublish".into()),
                                ("Effect", "Allow".into()),
                                (
                                    "Principal",
                                    obj([(
                                        "Service",
                                        Expr::s(crate::aws::principal("cloudwatch", &p.region)),
                                    )]),
                                ),
                                ("Action", "sns:Publish".into()),
                                ("Resource", Expr::r("AlarmTopic")),
                                (
                                    "Condition",
                                    obj([(
                                        "StringEquals",
                                        obj([("aws:SourceAccount", Expr::s(&p.account))]),
                                    )]),
                                ),
                            ]),
                            obj([
                                ("Sid", "DenyInsecureTransport".into()),
                                ("Effect", "Deny".into()),
                                ("Principal", obj([("AWS", "*".into())])),
                                ("Action", "sns:Publish".into()),
                                ("Resource", Expr::r("AlarmTopic")),
                                (
                                    "Condition",
                                    obj([("Bool", obj([("aws:SecureTransport", false.into())]))]),
                                ),
                            ]),
                        ]),
                    ),
                ]),
            ),
    );
    if let Some(email) = &p.alarm_email {
        t.add(
            "AlarmEmail",
            Resource::new("AWS::SNS::Subscription")
                .p("TopicArn", Expr::r("AlarmTopic"))
                .p("Protocol", "email")
                .p("Endpoint", Expr::s(email)),
        );
    }
}

/// The data key and the alarm topic, both exported.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: the data KMS key and the alarm topic",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Foundation);
    data_key(cx, &mut t);
    alarm_topic(cx, &mut t);
    cx.export(
        &mut t,
        StackId::Foundation,
        "DataKeyArn",
        "The pipeline's KMS key",
        Expr::att("DataKey", "Arn"),
    );
    cx.export(
        &mut t,
        StackId::Foundation,
        "AlarmTopicArn",
        "SNS topic for alarms",
        Expr::r("AlarmTopic"),
    );
    t
}
