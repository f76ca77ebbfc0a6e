//! The bootstrap stack, deployed before the others (after the replica stack): the
//! artifacts bucket and its key, the access-log bucket, and under PCI-DSS the role
//! replicating the artifacts. Not the buckets' shape (`buckets`).

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template};
use crate::emit::resource_policy::KeyId;
use crate::plan::{BucketId, StackId};

/// The artifacts (Lambda zips, Glue scripts, large templates) and access-log buckets.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: artifacts bucket and access-log bucket (deploy {})",
        p.pipeline,
        p.env,
        if p.stacks.contains_key(&StackId::Replica) {
            "right after the replica stack"
        } else {
            "first"
        }
    ));
    cx.stack_meta(&mut t, StackId::Bootstrap);
    if p.roles.contains_key("bootstrap-replication") {
        cx.replica_key_parameter(&mut t);
        cx.role(&mut t, "bootstrap-replication", StackId::Bootstrap);
    }
    t.add(
        "ArtifactsKey",
        cx.key(
            &format!(
                "{}-{}: Lambda zips, Glue scripts and templates",
                p.pipeline, p.env
            ),
            KeyId::Artifacts,
        )
        .retain(true),
    );
    t.add(
        "ArtifactsKeyAlias",
        Resource::new("AWS::KMS::Alias")
            .p("AliasName", Expr::s(p.artifacts_key_alias()))
            .p("TargetKeyId", Expr::r("ArtifactsKey")),
    );
    cx.log_bucket(&mut t, "LogsBucket", BucketId::Logs);
    t.add(
        "ArtifactsBucket",
        cx.bucket(
            BucketId::Artifacts,
            Some(Expr::att("ArtifactsKey", "Arn")),
            Some(Expr::r("LogsBucket")),
        )
        .depends("LogsBucketPolicy"),
    );
    t.add(
        "ArtifactsBucketPolicy",
        cx.bucket_policy("ArtifactsBucket", BucketId::Artifacts),
    );
    cx.export(
        &mut t,
        StackId::Bootstrap,
        "ArtifactsBucketName",
        "Bucket for Lambda zips, Glue scripts and large templates",
        Expr::r("ArtifactsBucket"),
    );
    cx.export(
        &mut t,
        StackId::Bootstrap,
        "ArtifactsKeyArn",
        "KMS key of the artifacts bucket",
        Expr::att("ArtifactsKey", "Arn"),
    );
    cx.export(
        &mut t,
        StackId::Bootstrap,
        "LogsBucketName",
        "Bucket receiving S3 server access logs",
        Expr::r("LogsBucket"),
    );
    t
}
