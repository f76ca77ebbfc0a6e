//! Index table requests: item writes and reads, queries of an index, and exports to S3,
//! each with the KMS use DynamoDB makes for it.

use super::kms::kms_dynamodb;
use super::s3::object;
use crate::plan::BucketId;
use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn write_items(cx: &Ctx, out: &mut Vec<Need>) {
    out.push(cx.plain("dynamodb:PutItem", cx.table_arn()));
    kms_dynamodb(
        cx,
        out,
        &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    );
}

pub(super) fn read_items(cx: &Ctx, out: &mut Vec<Need>) {
    out.push(cx.plain("dynamodb:GetItem", cx.table_arn()));
    kms_dynamodb(cx, out, &["kms:Decrypt"]);
}

pub(super) fn query_index(cx: &Ctx, out: &mut Vec<Need>, index: &str) {
    out.push(cx.plain(
        "dynamodb:Query",
        format!("{}/index/{index}", cx.table_arn()),
    ));
    kms_dynamodb(cx, out, &["kms:Decrypt"]);
}

/// An export to a point in time writes its files, as the caller, under a bucket prefix.
pub(super) fn export_table(cx: &Ctx, out: &mut Vec<Need>, bucket: BucketId, prefix: &str) {
    out.push(cx.plain("dynamodb:ExportTableToPointInTime", cx.table_arn()));
    let (r, p) = object(cx, bucket, prefix);
    for a in ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"] {
        out.push(cx.s3(a, r.clone(), p.clone()));
    }
    super::kms::kms_s3(cx, out, bucket, &["kms:GenerateDataKey", "kms:Decrypt"]);
}
