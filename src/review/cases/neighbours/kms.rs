//! Neighbours of a KMS need: another key, the key through another service (or directly),
//! and the key for another bucket or table than the encryption context names.

use super::{Found, other_name};
use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn neighbours(cx: &Ctx, n: &Need, out: &mut Found) {
    let plan = cx.plan;
    let mut m = n.clone();
    m.resource = format!(
        "{}:key/00000000-0000-4000-8000-0000000000ff",
        n.resource.split(":key/").next().unwrap_or_default()
    );
    m.policy = None;
    out.push(m, "another key");
    let secrets = crate::aws::via_service("secretsmanager", &plan.region);
    let mut m = n.clone();
    m.context.insert("kms:ViaService".into(), secrets);
    out.push(m, "the key through another service");
    if let Some(via) = n.context.get("kms:ViaService") {
        for other in ["s3", "dynamodb", "sqs"] {
            let other_via = crate::aws::via_service(other, &plan.region);
            if *via != other_via {
                let mut m = n.clone();
                m.context.insert("kms:ViaService".into(), other_via);
                out.push(m, "the key through another service");
            }
        }
    }
    if let Some(arn) = n.context.get("kms:EncryptionContext:aws:s3:arn") {
        for b in plan.buckets.values() {
            let other = format!("arn:{}:s3:::{}", plan.partition, b.name);
            if &other != arn {
                let mut m = n.clone();
                m.context
                    .insert("kms:EncryptionContext:aws:s3:arn".into(), other);
                out.push(m, &format!("the key for another bucket ({})", b.name));
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
        out.push(m, "the key for another table");
    }
}
