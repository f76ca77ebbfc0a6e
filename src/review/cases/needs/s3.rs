//! Object and bucket requests: writing, reading and scratch use of a prefix, and
//! replication between buckets, each with the KMS use S3 makes for it. Not the
//! neighbours of these requests (`neighbours::s3`).

use super::kms::kms_s3;
use crate::plan::BucketId;
use crate::review::cases::ctx::{Ctx, Need, SAMPLE};

/// Spark (Glue) and SageMaker upload in parts, which under SSE-KMS needs `kms:Decrypt`.
fn multipart_writer(service: &str) -> bool {
    service.starts_with("glue.") || service.starts_with("sagemaker.")
}

/// A sample object under a prefix, and the pattern standing for every object there.
pub(super) fn object(cx: &Ctx, b: BucketId, prefix: &str) -> (String, String) {
    let arn = cx.bucket_arn(b);
    (
        format!("{arn}/{prefix}{SAMPLE}"),
        format!("{arn}/{prefix}*"),
    )
}

/// `s3:ListBucket` limited to a prefix (`s3:prefix`).
fn list(cx: &Ctx, b: BucketId, prefix: &str) -> Need {
    let arn = cx.bucket_arn(b);
    let mut n = cx.s3("s3:ListBucket", arn.clone(), arn);
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

pub(super) fn put_objects(
    cx: &Ctx,
    out: &mut Vec<Need>,
    bucket: BucketId,
    prefix: &str,
    service: &str,
) {
    let (r, p) = object(cx, bucket, prefix);
    for a in ["s3:PutObject", "s3:AbortMultipartUpload"] {
        out.push(cx.s3(a, r.clone(), p.clone()));
    }
    if multipart_writer(service) {
        kms_s3(cx, out, bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
    } else {
        kms_s3(cx, out, bucket, &["kms:GenerateDataKey"]);
    }
}

/// A prefix (`folder/`: get and list) or a single object.
pub(super) fn read_objects(cx: &Ctx, out: &mut Vec<Need>, bucket: BucketId, prefix: &str) {
    if prefix.ends_with('/') {
        let (r, p) = object(cx, bucket, prefix);
        out.push(cx.s3("s3:GetObject", r, p));
        out.push(list(cx, bucket, prefix));
    } else {
        let r = format!("{}/{prefix}", cx.bucket_arn(bucket));
        out.push(cx.s3("s3:GetObject", r.clone(), r));
    }
    kms_s3(cx, out, bucket, &["kms:Decrypt"]);
}

/// A working area: read, write, delete and list under a prefix.
pub(super) fn scratch_objects(cx: &Ctx, out: &mut Vec<Need>, bucket: BucketId, prefix: &str) {
    let (r, p) = object(cx, bucket, prefix);
    for a in [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    ] {
        out.push(cx.s3(a, r.clone(), p.clone()));
    }
    out.push(list(cx, bucket, prefix));
    let arn = cx.bucket_arn(bucket);
    out.push(cx.s3("s3:GetBucketLocation", arn.clone(), arn));
    kms_s3(cx, out, bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
}

/// What S3 replication does as the replication role: read the source's configuration
/// and object versions, write replicas, and use both buckets' keys.
pub(super) fn replicate(cx: &Ctx, out: &mut Vec<Need>, from: BucketId, to: BucketId) {
    let src = cx.bucket_arn(from);
    let dst = cx.bucket_arn(to);
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
    kms_s3(cx, out, from, &["kms:Decrypt"]);
    if let Some(key) = cx.key_of(to) {
        let via = crate::aws::via_service("s3", &cx.plan.bucket(to).region);
        for a in ["kms:Encrypt", "kms:GenerateDataKey"] {
            out.push(super::kms::kms(
                cx,
                a,
                &key,
                &via,
                Some(("kms:EncryptionContext:aws:s3:arn", &dst)),
            ));
        }
    }
}
