//! The metadata index table: item writes and reads, index queries and exports to S3,
//! each with the data key's use through DynamoDB. Not the table itself (`stacks`).

use serde_json::json;

use super::{DATA_KEY, Grant, INDEX_TABLE, Statement, bucket_arn, kms};
use crate::plan::BucketId;

/// The index table's ARN (its name is a placeholder: CloudFormation names it).
fn table(g: &Grant<'_>) -> String {
    g.arn("dynamodb", true, &format!("table/{INDEX_TABLE}"))
}

/// An access to the table (or one of its indexes) and the key use it implies, for
/// this table only.
fn with_key(g: &Grant<'_>, actions: &[&str], resource: String, kms: &[&str]) -> Vec<Statement> {
    vec![
        g.allow("", actions, vec![resource]),
        g.allow("Key", kms, vec![DATA_KEY.to_owned()])
            .when("StringEquals", "kms:ViaService", g.via("dynamodb"))
            .when(
                "StringEquals",
                "kms:EncryptionContext:aws:dynamodb:tableName",
                json!(INDEX_TABLE),
            ),
    ]
}

/// `WriteItems`: put index items.
pub(super) fn write_items(g: &Grant<'_>) -> Vec<Statement> {
    with_key(
        g,
        &["dynamodb:PutItem"],
        table(g),
        &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    )
}

/// `ReadItems`: get index items by key.
pub(super) fn read_items(g: &Grant<'_>) -> Vec<Statement> {
    with_key(g, &["dynamodb:GetItem"], table(g), &["kms:Decrypt"])
}

/// `QueryIndex`: query one global secondary index.
pub(super) fn query_index(g: &Grant<'_>, index: &str) -> Vec<Statement> {
    with_key(
        g,
        &["dynamodb:Query"],
        format!("{}/index/{index}", table(g)),
        &["kms:Decrypt"],
    )
}

/// `ExportTable`: a point-in-time export of the table, written under a prefix.
pub(super) fn export_table(g: &Grant<'_>, bucket: BucketId, prefix: &str) -> Vec<Statement> {
    let b = bucket_arn(g.plan, bucket);
    let mut out = vec![
        g.allow("", &["dynamodb:ExportTableToPointInTime"], vec![table(g)]),
        g.allow(
            "Write",
            &["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
            vec![format!("{b}/{prefix}*")],
        ),
    ];
    out.extend(kms::through_s3(
        g,
        "Key",
        bucket,
        &["kms:GenerateDataKey", "kms:Decrypt"],
    ));
    out
}
