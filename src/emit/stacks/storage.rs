//! The storage stack: the raw, curated and query-result buckets (with the bucket
//! policy statements of outside readers) and the metadata index table. Not the buckets'
//! shape (`buckets`), nor who may use them (IAM, from flows).

use pipewright_ingest_config::index as ix;

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template, obj};
use crate::plan::{BucketId, StackId};
use crate::spec::model::Lookup;

/// The data buckets the plan has, their policies, and their names exported.
fn data_buckets(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    let key = || cx.import(StackId::Foundation, "DataKeyArn");
    let logs = || Expr::s(cx.bucket_name(BucketId::Logs));
    for (id, lid) in [
        (BucketId::Raw, "RawBucket"),
        (BucketId::Curated, "CuratedBucket"),
        (BucketId::Results, "ResultsBucket"),
    ] {
        if !p.buckets.contains_key(&id) {
            continue;
        }
        let b = cx.bucket(id, Some(key()), Some(logs()));
        t.add(lid, b);
        t.add(&format!("{lid}Policy"), cx.bucket_policy(lid, id));
        cx.export(
            t,
            StackId::Storage,
            &format!("{lid}Name"),
            &format!(
                "The {} bucket",
                lid.trim_end_matches("Bucket").to_lowercase()
            ),
            Expr::r(lid),
        );
    }
}

/// The index's attribute definitions and global secondary indexes (one per lookup).
fn lookups(cx: &Ctx<'_>) -> (Vec<(&'static str, &'static str)>, Vec<Expr>) {
    let mut attrs = vec![(ix::PK, "S"), (ix::SK, "S")];
    let mut gsis = Vec::new();
    for l in &cx.plan.lookups {
        let g = match l {
            Lookup::BySourceDate => ix::BY_SOURCE_DATE,
            Lookup::ByDevice => ix::BY_DEVICE,
            Lookup::BySchemaVersion => ix::BY_SCHEMA_VERSION,
        };
        attrs.push((g.pk, "S"));
        attrs.push((g.sk, "S"));
        gsis.push(obj([
            ("IndexName", Expr::s(g.name)),
            (
                "KeySchema",
                Expr::list([
                    obj([("AttributeName", Expr::s(g.pk)), ("KeyType", "HASH".into())]),
                    obj([
                        ("AttributeName", Expr::s(g.sk)),
                        ("KeyType", "RANGE".into()),
                    ]),
                ]),
            ),
            ("Projection", obj([("ProjectionType", "ALL".into())])),
        ]));
    }
    attrs.sort();
    attrs.dedup();
    (attrs, gsis)
}

/// The metadata index: on-demand, point-in-time recovery, the data key, item TTL.
fn index_table(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    let key = || cx.import(StackId::Foundation, "DataKeyArn");
    let (attrs, gsis) = lookups(cx);
    let mut table = Resource::new("AWS::DynamoDB::Table")
        .p("BillingMode", "PAY_PER_REQUEST")
        .p(
            "AttributeDefinitions",
            Expr::list(attrs.iter().map(|(n, ty)| {
                obj([
                    ("AttributeName", Expr::s(*n)),
                    ("AttributeType", Expr::s(*ty)),
                ])
            })),
        )
        .p(
            "KeySchema",
            Expr::list([
                obj([
                    ("AttributeName", Expr::s(ix::PK)),
                    ("KeyType", "HASH".into()),
                ]),
                obj([
                    ("AttributeName", Expr::s(ix::SK)),
                    ("KeyType", "RANGE".into()),
                ]),
            ]),
        )
        .p(
            "PointInTimeRecoverySpecification",
            obj([("PointInTimeRecoveryEnabled", true.into())]),
        )
        .p(
            "SSESpecification",
            obj([
                ("KMSMasterKeyId", key()),
                ("SSEEnabled", true.into()),
                ("SSEType", "KMS".into()),
            ]),
        )
        .p(
            "TimeToLiveSpecification",
            obj([
                ("AttributeName", Expr::s(ix::TTL)),
                ("Enabled", true.into()),
            ]),
        )
        .p("DeletionProtectionEnabled", p.retain)
        .p("Tags", cx.tags())
        .retain(p.retain);
    if !gsis.is_empty() {
        table = table.p("GlobalSecondaryIndexes", Expr::List(gsis));
    }
    t.add("IndexTable", table);
    cx.export(
        t,
        StackId::Storage,
        "IndexTableName",
        "The metadata index table",
        Expr::r("IndexTable"),
    );
}

/// The data buckets and the index table.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: raw, curated and query-result buckets and the metadata index",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Storage);
    let replication = p.roles.contains_key("replication");
    if replication {
        cx.replica_key_parameter(&mut t);
        cx.role(&mut t, "replication", StackId::Storage);
    }
    data_buckets(cx, &mut t);
    index_table(cx, &mut t);
    t
}
