//! KMS use: the key use an S3 access implies (through S3, for one bucket's objects),
//! and direct use of the data key (Glue's client-side bookmark encryption). Not the
//! key use of DynamoDB or SQS, which their own modules state with their access.

use serde_json::json;

use super::{DATA_KEY, Grant, Statement, bucket_arn, key_for};
use crate::plan::BucketId;

/// The key of a bucket, used through S3 in the bucket's region for that bucket's
/// objects only; none for a bucket without a KMS key (SSE-S3).
pub(super) fn through_s3(
    g: &Grant<'_>,
    suffix: &str,
    bucket: BucketId,
    actions: &[&str],
) -> Option<Statement> {
    let key = key_for(bucket)?;
    let region = &g.plan.bucket(bucket).region;
    Some(
        g.allow(suffix, actions, vec![key.to_owned()])
            .when(
                "StringEquals",
                "kms:ViaService",
                json!(crate::aws::via_service("s3", region)),
            )
            .when(
                "StringEquals",
                "kms:EncryptionContext:aws:s3:arn",
                json!(bucket_arn(g.plan, bucket)),
            ),
    )
}

/// `EncryptBookmarks`: the data key itself, for Glue's client-side encryption of job
/// bookmarks (no service in between to name in a condition).
pub(super) fn encrypt_bookmarks(g: &Grant<'_>) -> Vec<Statement> {
    vec![g.allow(
        "",
        &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        vec![DATA_KEY.to_owned()],
    )]
}
