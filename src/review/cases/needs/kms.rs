//! KMS requests: the key use another service makes for a flow (with `kms:ViaService` and
//! the encryption context that service sends), and direct use for Glue job bookmarks.
//! Not the key policies (the subject under test).

use crate::plan::BucketId;
use crate::review::cases::ctx::{Ctx, Need};

/// A request on `key` through service `via`, with an encryption context pair if any.
pub(super) fn kms(cx: &Ctx, action: &str, key: &str, via: &str, ctx: Option<(&str, &str)>) -> Need {
    let mut n = cx.plain(action, key.to_owned());
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

/// KMS use through S3 for objects of bucket `b` (S3 sends the bucket's ARN as context).
pub(super) fn kms_s3(cx: &Ctx, out: &mut Vec<Need>, b: BucketId, actions: &[&str]) {
    let Some(key) = cx.key_of(b) else { return };
    let via = crate::aws::via_service("s3", &cx.plan.bucket(b).region);
    let ctx_arn = cx.bucket_arn(b);
    for a in actions {
        out.push(kms(
            cx,
            a,
            &key,
            &via,
            Some(("kms:EncryptionContext:aws:s3:arn", &ctx_arn)),
        ));
    }
}

/// KMS use through DynamoDB for the index table (DynamoDB sends the table's name).
pub(super) fn kms_dynamodb(cx: &Ctx, out: &mut Vec<Need>, actions: &[&str]) {
    let key = cx.bindings["DataKeyArn"].clone();
    let via = crate::aws::via_service("dynamodb", &cx.plan.region);
    for a in actions {
        out.push(kms(
            cx,
            a,
            &key,
            &via,
            Some((
                "kms:EncryptionContext:aws:dynamodb:tableName",
                &cx.bindings["IndexTableName"],
            )),
        ));
    }
}

/// Glue encrypts job bookmarks itself, with the role's own credentials (no service in between).
pub(super) fn encrypt_bookmarks(cx: &Ctx, out: &mut Vec<Need>) {
    let key = cx.bindings["DataKeyArn"].clone();
    for a in ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] {
        let mut n = cx.plain(a, key.clone());
        n.policy = Some(key.clone());
        out.push(n);
    }
}
