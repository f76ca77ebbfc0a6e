//! S3 object access (put, read, scratch) and replication between a bucket and its
//! replica, each with the KMS use it implies. Not bucket policies (`stacks`).

use serde_json::json;

use super::{Grant, Statement, bucket_arn, kms};
use crate::plan::{BucketId, RolePlan};

/// Whether a role's service writes with multipart uploads (Spark, SageMaker), which
/// need `kms:Decrypt` to upload parts under SSE-KMS.
fn multipart_writer(role: Option<&RolePlan>) -> bool {
    role.is_some_and(|r| r.service.starts_with("glue.") || r.service.starts_with("sagemaker."))
}

/// `PutObjects`: create objects under a prefix.
pub(super) fn put_objects(g: &Grant<'_>, bucket: BucketId, prefix: &str) -> Vec<Statement> {
    let b = bucket_arn(g.plan, bucket);
    let mut out = vec![g.allow(
        "",
        &["s3:PutObject", "s3:AbortMultipartUpload"],
        vec![format!("{b}/{prefix}*")],
    )];
    let key: &[&str] = if multipart_writer(g.role) {
        &["kms:GenerateDataKey", "kms:Decrypt"]
    } else {
        &["kms:GenerateDataKey"]
    };
    out.extend(kms::through_s3(g, "Key", bucket, key));
    out
}

/// `ReadObjects`: read one object, or read and list the objects under a prefix.
pub(super) fn read_objects(g: &Grant<'_>, bucket: BucketId, prefix: &str) -> Vec<Statement> {
    let b = bucket_arn(g.plan, bucket);
    let object = if prefix.ends_with('/') {
        format!("{b}/{prefix}*")
    } else {
        format!("{b}/{prefix}")
    };
    let mut out = vec![g.allow("", &["s3:GetObject"], vec![object])];
    if prefix.ends_with('/') {
        let bare = prefix.trim_end_matches('/');
        out.push(g.allow("List", &["s3:ListBucket"], vec![b]).when(
            "StringLike",
            "s3:prefix",
            json!([bare, format!("{prefix}*")]),
        ));
    }
    out.extend(kms::through_s3(g, "Key", bucket, &["kms:Decrypt"]));
    out
}

/// `ScratchObjects`: read, write and delete under a prefix (query results, temp files).
pub(super) fn scratch_objects(g: &Grant<'_>, bucket: BucketId, prefix: &str) -> Vec<Statement> {
    let b = bucket_arn(g.plan, bucket);
    let mut out = vec![
        g.allow(
            "",
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            vec![format!("{b}/{prefix}*")],
        ),
        g.allow("List", &["s3:ListBucket"], vec![b.clone()]).when(
            "StringLike",
            "s3:prefix",
            json!([prefix.trim_end_matches('/'), format!("{prefix}*")]),
        ),
        // Athena and Spark look up the bucket's region; `s3:prefix` does not apply.
        g.allow("Location", &["s3:GetBucketLocation"], vec![b]),
    ];
    out.extend(kms::through_s3(
        g,
        "Key",
        bucket,
        &["kms:GenerateDataKey", "kms:Decrypt"],
    ));
    out
}

/// `Replicate`: S3 replication's role reads the source's versions and writes them to
/// the destination, re-encrypted under the destination's key.
pub(super) fn replicate(g: &Grant<'_>, from: BucketId, to: BucketId) -> Vec<Statement> {
    let src = bucket_arn(g.plan, from);
    let dst = bucket_arn(g.plan, to);
    let mut read = vec![
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionTagging",
    ];
    if g.plan.object_lock(from) {
        // S3 copies each version's retention and legal hold to the replica.
        read.extend(["s3:GetObjectRetention", "s3:GetObjectLegalHold"]);
    }
    let mut out = vec![
        g.allow(
            "Config",
            &["s3:GetReplicationConfiguration", "s3:ListBucket"],
            vec![src.clone()],
        ),
        g.allow("Read", &read, vec![format!("{src}/*")]),
        g.allow(
            "Write",
            &[
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
            ],
            vec![format!("{dst}/*")],
        ),
    ];
    out.extend(kms::through_s3(g, "Key", from, &["kms:Decrypt"]));
    // The copy is encrypted under the destination's key, through S3 in the
    // destination's region (the replica key, or on the way back the source's).
    out.extend(kms::through_s3(
        g,
        "DestinationKey",
        to,
        &["kms:Encrypt", "kms:GenerateDataKey"],
    ));
    out
}
