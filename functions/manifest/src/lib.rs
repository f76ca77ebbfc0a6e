//! The training manifest step of a pipewright pipeline (a SageMaker Pipelines Lambda
//! step). For a run, it asks the index — through the lookups the spec grants — for the
//! raw objects of the run's sources received in the window before the run (of the
//! named schema versions, when there are any), and writes under the manifests prefix:
//! a SageMaker manifest (`[{"prefix": "s3://<raw bucket>/"}, key, ...]`: raw objects
//! only, never one under `rejected/`, each once, sorted) and a dataset record (the
//! keys with their event counts and schema versions, the queries, the spec line).
//! Same run start and index ⇒ the same two files.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use pipewright_ingest::timefmt;
use pipewright_ingest_config::{index, layout};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The Lambda step's arguments (the pipeline definition's `Arguments`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Request {
    pub execution_id: String,
    /// The execution's start (RFC 3339): the window ends here.
    pub run_start: String,
    pub sources: Vec<String>,
    pub window_days: u32,
    #[serde(default)]
    pub schema_versions: Vec<String>,
    pub manifest_bucket: String,
    pub manifest_prefix: String,
    pub spec: String,
}

/// Where the function finds the raw bucket, the index and the key (its environment).
#[derive(Debug, Clone)]
pub struct Names {
    pub raw_bucket: String,
    pub index_table: String,
    pub kms_key_arn: Option<String>,
}

/// The step's outputs (the definition's `OutputParameters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub manifest_uri: String,
    pub dataset_record_uri: String,
    pub lineage: String,
}

/// One listed object, from its index item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub key: String,
    pub source: String,
    pub schema_version: String,
    pub event_count: u64,
    pub received_at: String,
}

/// One index query the run made.
#[derive(Debug, Clone, Serialize)]
pub struct Query {
    pub index: &'static str,
    pub partition: String,
    pub received_from: String,
    pub received_before: String,
}

/// The queries of a run: `by_source_date` per source and day of the window, or
/// `by_schema_version` per source and version when versions are named.
pub fn queries(r: &Request) -> Result<Vec<Query>, String> {
    let end = timefmt::parse_rfc3339(&r.run_start)
        .ok_or_else(|| format!("run_start `{}` is not an RFC 3339 time", r.run_start))?;
    let start = end - i64::from(r.window_days) * 86_400_000;
    let (from, before) = (timefmt::format_millis(start), timefmt::format_millis(end));
    let q = |index: &'static str, partition: String| Query {
        index,
        partition,
        received_from: from.clone(),
        received_before: before.clone(),
    };
    let mut out = Vec::new();
    for s in &r.sources {
        if r.schema_versions.is_empty() {
            let (first, last) = (
                start.div_euclid(86_400_000),
                (end - 1).div_euclid(86_400_000),
            );
            for day in first..=last {
                let (y, m, d) = timefmt::civil_from_days(day);
                out.push(q(
                    index::BY_SOURCE_DATE.name,
                    format!("{s}#{y:04}-{m:02}-{d:02}"),
                ));
            }
        } else {
            for v in &r.schema_versions {
                out.push(q(index::BY_SCHEMA_VERSION.name, format!("{s}#{v}")));
            }
        }
    }
    Ok(out)
}

fn s(item: &std::collections::HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

/// Runs one query to the end (every page); object items under `raw/<source>/` only.
async fn run_query(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    q: &Query,
) -> Result<Vec<Listed>, String> {
    let gsi = if q.index == index::BY_SOURCE_DATE.name {
        index::BY_SOURCE_DATE
    } else {
        index::BY_SCHEMA_VERSION
    };
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let resp = ddb
            .query()
            .table_name(table)
            .index_name(gsi.name)
            .key_condition_expression("#p = :p AND #t BETWEEN :from AND :to")
            .expression_attribute_names("#p", gsi.pk)
            .expression_attribute_names("#t", gsi.sk)
            .expression_attribute_values(":p", AttributeValue::S(q.partition.clone()))
            .expression_attribute_values(":from", AttributeValue::S(q.received_from.clone()))
            .expression_attribute_values(":to", AttributeValue::S(q.received_before.clone()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "querying {} for `{}`: {}",
                    q.index,
                    q.partition,
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        for item in resp.items() {
            let (Some(key), Some(source)) = (
                s(item, index::attr::OBJECT_KEY),
                s(item, index::attr::SOURCE),
            ) else {
                continue;
            };
            let received_at = s(item, index::attr::RECEIVED_AT).unwrap_or_default();
            // The upper bound is exclusive: an object received at the run's start is the next run's.
            if !key.starts_with(&layout::raw_prefix(&source)) || received_at == q.received_before {
                continue;
            }
            let event_count = item
                .get(index::attr::EVENT_COUNT)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            out.push(Listed {
                key,
                schema_version: s(item, index::attr::SCHEMA_VERSION).unwrap_or_default(),
                source,
                event_count,
                received_at,
            });
        }
        match resp.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(out),
        }
    }
}

/// The objects of a run: every query's, each key once, sorted by key.
pub async fn list(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    qs: &[Query],
) -> Result<Vec<Listed>, String> {
    let mut by_key: BTreeMap<String, Listed> = BTreeMap::new();
    for q in qs {
        for l in run_query(ddb, table, q).await? {
            by_key.entry(l.key.clone()).or_insert(l);
        }
    }
    Ok(by_key.into_values().collect())
}

/// The SageMaker manifest: the raw bucket's prefix, then each key.
pub fn manifest(raw_bucket: &str, listed: &[Listed]) -> String {
    let mut v = vec![json!({ "prefix": format!("s3://{raw_bucket}/") })];
    v.extend(listed.iter().map(|l| json!(l.key)));
    serde_json::to_string(&v).expect("a manifest serialises") + "\n"
}

/// The dataset record: what the model saw and how it was chosen.
pub fn record(r: &Request, qs: &[Query], listed: &[Listed], manifest_uri: &str) -> String {
    let versions: BTreeSet<&str> = listed.iter().map(|l| l.schema_version.as_str()).collect();
    let mut per_source: BTreeMap<&str, u64> = BTreeMap::new();
    for l in listed {
        *per_source.entry(l.source.as_str()).or_default() += l.event_count;
    }
    let v = json!({
        "execution_id": r.execution_id,
        "run_start": r.run_start,
        "spec": r.spec,
        "manifest": manifest_uri,
        "inputs": { "sources": r.sources, "window_days": r.window_days, "schema_versions": r.schema_versions },
        "queries": qs,
        "objects": listed,
        "object_count": listed.len(),
        "event_count": listed.iter().map(|l| l.event_count).sum::<u64>(),
        "events_per_source": per_source,
        "schema_versions_seen": versions,
    });
    serde_json::to_string_pretty(&v).expect("a record serialises") + "\n"
}

async fn put(
    s3: &aws_sdk_s3::Client,
    names: &Names,
    bucket: &str,
    key: &str,
    body: String,
) -> Result<(), String> {
    let mut req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into_bytes().into());
    if let Some(k) = &names.kms_key_arn {
        req = req
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(k);
    }
    req.send().await.map(|_| ()).map_err(|e| {
        format!(
            "writing s3://{bucket}/{key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })
}

/// One run: list, write the manifest and the record, answer their URIs and the lineage.
pub async fn run(
    s3: &aws_sdk_s3::Client,
    ddb: &aws_sdk_dynamodb::Client,
    names: &Names,
    r: &Request,
) -> Result<Response, String> {
    if r.execution_id.is_empty() || r.execution_id.contains('/') {
        return Err(format!(
            "execution_id `{}` cannot name a folder",
            r.execution_id
        ));
    }
    let qs = queries(r)?;
    let listed = list(ddb, &names.index_table, &qs).await?;
    let folder = format!("{}{}/", r.manifest_prefix, r.execution_id);
    let (mk, rk) = (
        format!("{folder}manifest.json"),
        format!("{folder}dataset-record.json"),
    );
    let manifest_uri = format!("s3://{}/{mk}", r.manifest_bucket);
    let dataset_record_uri = format!("s3://{}/{rk}", r.manifest_bucket);
    put(
        s3,
        names,
        &r.manifest_bucket,
        &mk,
        manifest(&names.raw_bucket, &listed),
    )
    .await?;
    put(
        s3,
        names,
        &r.manifest_bucket,
        &rk,
        record(r, &qs, &listed, &manifest_uri),
    )
    .await?;
    Ok(Response {
        lineage: format!(
            "manifest {manifest_uri}; dataset record {dataset_record_uri}; spec {}",
            r.spec
        ),
        manifest_uri,
        dataset_record_uri,
    })
}
