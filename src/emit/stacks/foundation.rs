//! The foundation stack: the pipeline's data key (with a key policy admitting the
//! pipeline's roles, CloudWatch, AWS services through grants, deployers through
//! services, and outside readers through S3) and the alarm topic. Not the artifacts or
//! replica keys (`bootstrap`, `replica`).

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template};
use crate::emit::resource_policy::{self, KeyId};
use crate::plan::StackId;

/// The data key and its alias.
fn data_key(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add(
        "DataKey",
        cx.key(
            &format!("{}-{}: pipeline data", p.pipeline, p.env),
            KeyId::Data,
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
                Expr::Json(resource_policy::document(&resource_policy::topic_policy(p))),
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
