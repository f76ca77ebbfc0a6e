//! The manifest function against moto, over raw objects and index items written by the
//! real ingest function (its handler, driven as its own tests drive it, at chosen
//! receive times): the manifest lists exactly the window's objects of the run's
//! sources — the keys the ingest function answered with — and no object of another
//! source, under `rejected/` or outside the window; a rerun writes the same files.

#[path = "../../ingest/crate/tests/common/mod.rs"]
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use pipewright_manifest::{Names, Request, run};
use serde_json::{Value, json};

const DAY: u64 = 86_400;
/// The run starts at 2026-11-30T00:00:00Z.
const RUN: u64 = 1_795_996_800;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Sends a request received at `t`; the answer's JSON.
async fn send_at(
    env: &Env,
    req: aws_lambda_events::apigw::ApiGatewayProxyRequest,
    t: SystemTime,
) -> Value {
    let r = Resp::from(pipewright_ingest::handle(req, &env.clients, &env.setup, t).await);
    assert!(r.status < 300, "ingest refused: {}", r.text);
    r.json
}

fn key(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .to_owned()
}

fn request(env: &Env, id: &str, versions: &[&str]) -> Request {
    Request {
        execution_id: id.into(),
        run_start: "2026-11-30T00:00:00.000Z".into(),
        sources: vec!["pos".into()],
        window_days: 7,
        schema_versions: versions.iter().map(|s| (*s).to_owned()).collect(),
        manifest_bucket: env.bucket.clone(),
        manifest_prefix: "manifests/fares/".into(),
        spec: "pipeline.yaml:159 (ml.training)".into(),
    }
}

async fn read(env: &Env, uri: &str) -> String {
    let k = uri.strip_prefix(&format!("s3://{}/", env.bucket)).unwrap();
    let o = env
        .clients
        .s3
        .get_object()
        .bucket(&env.bucket)
        .key(k)
        .send()
        .await
        .unwrap();
    String::from_utf8(o.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn the_manifest_lists_exactly_the_window_and_inputs() {
    let env = Env::new("manifest").await;
    // In the window: pos two days and six days before the run, one with a rejected event.
    let a = send_at(
        &env,
        json_request(&json!([sale(1), sale(2)]), &[]),
        at(RUN - 2 * DAY),
    )
    .await;
    let mut bad = sale(4);
    bad["currency"] = json!("euro");
    let b = send_at(
        &env,
        json_request(&json!([sale(3), bad]), &[]),
        at(RUN - 6 * DAY + 5),
    )
    .await;
    // Outside: pos eight days before, pos at the run's start; ferry inside the window.
    send_at(
        &env,
        json_request(&json!([sale(5)]), &[]),
        at(RUN - 8 * DAY),
    )
    .await;
    send_at(&env, json_request(&json!([sale(6)]), &[]), at(RUN)).await;
    let ferry = common::request(
        FERRY_ROUTE,
        &json!({"gate": "g1"}).to_string(),
        &[("content-type", "application/json")],
    );
    let f = send_at(&env, ferry, at(RUN - DAY)).await;

    let names = Names {
        raw_bucket: env.bucket.clone(),
        index_table: env.table.clone(),
        kms_key_arn: Some(KMS_KEY.into()),
    };
    let out = run(
        &env.clients.s3,
        &env.clients.dynamodb,
        &names,
        &request(&env, "exec-1", &[]),
    )
    .await
    .unwrap();
    let manifest: Value = serde_json::from_str(&read(&env, &out.manifest_uri).await).unwrap();
    let mut expected = [key(&a, "object_key"), key(&b, "object_key")];
    expected.sort();
    let mut want = vec![json!({"prefix": format!("s3://{}/", env.bucket)})];
    want.extend(expected.iter().map(|k| json!(k)));
    assert_eq!(manifest, Value::Array(want));
    let listed = manifest.to_string();
    assert!(!listed.contains(&key(&b, "rejected_key")) && !listed.contains("rejected/"));
    assert!(!listed.contains(&key(&f, "object_key")));

    let record: Value = serde_json::from_str(&read(&env, &out.dataset_record_uri).await).unwrap();
    assert_eq!(
        record["event_count"],
        json!(3),
        "2 + 1 accepted events: {record}"
    );
    assert_eq!(record["schema_versions_seen"], json!(["1.2.0"]));
    assert_eq!(record["spec"], json!("pipeline.yaml:159 (ml.training)"));
    assert_eq!(record["manifest"], json!(out.manifest_uri));
    assert!(
        out.lineage.contains(&out.manifest_uri) && out.lineage.contains(&out.dataset_record_uri)
    );

    // A rerun writes the same manifest and record.
    let again = run(
        &env.clients.s3,
        &env.clients.dynamodb,
        &names,
        &request(&env, "exec-1", &[]),
    )
    .await
    .unwrap();
    assert_eq!(again, out);
    assert_eq!(
        read(&env, &again.manifest_uri).await,
        serde_json::to_string(&manifest).unwrap() + "\n"
    );

    // By schema version: the same objects for the version they were written under, none for another.
    let v = run(
        &env.clients.s3,
        &env.clients.dynamodb,
        &names,
        &request(&env, "exec-2", &["1.2.0"]),
    )
    .await
    .unwrap();
    let by_version: Value = serde_json::from_str(&read(&env, &v.manifest_uri).await).unwrap();
    assert_eq!(by_version, manifest);
    let none = run(
        &env.clients.s3,
        &env.clients.dynamodb,
        &names,
        &request(&env, "exec-3", &["9.0.0"]),
    )
    .await
    .unwrap();
    let empty: Value = serde_json::from_str(&read(&env, &none.manifest_uri).await).unwrap();
    assert_eq!(
        empty.as_array().unwrap().len(),
        1,
        "only the prefix: {empty}"
    );
}
