//! The replica stack (PCI-DSS posture), deployed in the replica region before every
//! other stack: the replica key, access-log bucket and replica buckets, and the role
//! replicating back to the source region once its keys exist. Not the source buckets'
//! replication rules (`buckets`), nor the replication roles of the source stacks.

use super::{Ctx, KMS_KEY_ARN};
use crate::emit::cfn::{Expr, Parameter, Resource, Template};
use crate::emit::resource_policy::KeyId;
use crate::plan::{BucketId, StackId};

/// The replica stack's condition: the sources' keys were given, so the replicas
/// replicate back (`deploy` passes them in its second pass over that stack).
pub(super) const RETURN_REPLICATION: &str = "ReturnReplication";

/// The optional key parameters of the replica stack, and the condition that both
/// were given: the sources' keys exist once the foundation and bootstrap stacks do.
fn return_key_parameters(t: &mut Template) {
    for (name, from) in [
        ("DataKeyArn", "foundation"),
        ("ArtifactsKeyArn", "bootstrap"),
    ] {
        t.parameters.insert(
            name.into(),
            Parameter {
                ty: "String",
                description: format!(
                    "ARN of the source region's key (output `{name}` of the {from} stack); \
                     empty until that stack exists, which leaves the way back off"
                ),
                allowed_pattern: Some(format!("^({KMS_KEY_ARN})?$")),
                default: Some(String::new()),
            },
        );
    }
    t.conditions.insert(
        RETURN_REPLICATION.into(),
        Expr::And(vec![
            Expr::given("DataKeyArn"),
            Expr::given("ArtifactsKeyArn"),
        ]),
    );
}

/// The replica region's key (for the replication roles and the way back), its
/// access-log bucket and one replica per replicated bucket.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let rr = p.replica_region.clone().unwrap_or_default();
    let mut t = Template::new(format!(
        "{} {}: replica buckets and key (deploy in {rr})",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Replica);
    return_key_parameters(&mut t);
    t.add(
        "ReplicaKey",
        cx.key(
            &format!("{}-{}: replicated data in {rr}", p.pipeline, p.env),
            KeyId::Replica,
        ),
    );
    if p.roles.contains_key("replica-return") {
        cx.role_if(
            &mut t,
            "replica-return",
            StackId::Replica,
            RETURN_REPLICATION,
        );
    }
    t.add(
        "ReplicaKeyAlias",
        Resource::new("AWS::KMS::Alias")
            .p("AliasName", Expr::s(p.replica_key_alias()))
            .p("TargetKeyId", Expr::r("ReplicaKey")),
    );
    cx.log_bucket(&mut t, "ReplicaLogsBucket", BucketId::LogsReplica);
    for (id, lid) in [
        (BucketId::RawReplica, "RawReplicaBucket"),
        (BucketId::CuratedReplica, "CuratedReplicaBucket"),
        (BucketId::ResultsReplica, "ResultsReplicaBucket"),
        (BucketId::ArtifactsReplica, "ArtifactsReplicaBucket"),
    ] {
        if !p.buckets.contains_key(&id) {
            continue;
        }
        t.add(
            lid,
            cx.bucket(
                id,
                Some(Expr::att("ReplicaKey", "Arn")),
                Some(Expr::r("ReplicaLogsBucket")),
            )
            .depends("ReplicaLogsBucketPolicy"),
        );
        t.add(&format!("{lid}Policy"), cx.bucket_policy(lid, id));
    }
    t.output(
        "ReplicaKeyArn",
        "KMS key of the replica buckets (a parameter of the bootstrap and storage stacks)",
        Expr::att("ReplicaKey", "Arn"),
        None,
    );
    t
}
