//! Integration tests of the ingest handler against a real moto server
//! (`PIPEWRIGHT_MOTO_ENDPOINT`; the emulator-death tests also start their own from
//! `PIPEWRIGHT_MOTO_SERVER`). Every test makes its own bucket and table.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use pipewright_ingest_config::index;
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Checks that a stored request reads back as exactly `accepted` and that its index
/// item describes the object; returns the object item.
async fn assert_stored(
    env: &Env,
    resp: &Resp,
    accepted: &[Value],
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let key = resp.json["object_key"]
        .as_str()
        .unwrap_or_else(|| panic!("no object_key in {}", resp.text));
    let objs = objects(&env.clients.s3, &env.bucket, key).await;
    assert_eq!(objs.len(), 1, "object {key}");
    let text = gunzip(&objs[0].1);
    assert_eq!(
        text,
        ndjson(accepted),
        "object {key} does not read back as the accepted events"
    );
    let head = env
        .clients
        .s3
        .head_object()
        .bucket(&env.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some(KMS_KEY));

    let all = items(&env.clients.dynamodb, &env.table).await;
    let objects_items = of_kind(&all, "object");
    let item = objects_items
        .iter()
        .find(|i| s(i, "object_key") == key)
        .unwrap_or_else(|| panic!("no index item for {key}: {all:?}"));
    assert_eq!(s(item, index::PK), format!("object#{key}"));
    assert_eq!(n(item, "event_count"), accepted.len() as i64);
    assert_eq!(n(item, "bytes"), text.len() as i64);
    assert_eq!(n(item, "stored_bytes"), objs[0].1.len() as i64);
    assert_eq!(
        s(item, "request_id"),
        resp.json["request_id"].as_str().unwrap()
    );
    (*item).clone()
}

#[tokio::test]
async fn a_single_event_is_stored_indexed_and_reads_back() {
    let env = Env::new("single").await;
    let event = sale(1);
    let resp = env.send(json_request(&event, &[])).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.json["accepted"], 1);
    assert!(resp.header("x-request-id").is_some());
    let key = resp.json["object_key"].as_str().unwrap();
    let rid = resp.json["request_id"].as_str().unwrap();
    assert_eq!(
        key,
        format!("raw/pos/dt=2026-11-27/hour=09/{rid}.ndjson.gz")
    );

    let item = assert_stored(&env, &resp, std::slice::from_ref(&event)).await;
    assert_eq!(s(&item, "source"), "pos");
    assert_eq!(s(&item, "schema_version"), "1.2.0");
    assert_eq!(n(&item, "rejected_count"), 0);
    assert_eq!(s(&item, "min_event_time"), "2026-11-27T08:00:01.000Z");
    assert_eq!(s(&item, "max_event_time"), "2026-11-27T08:00:01.000Z");
    assert_eq!(n(&item, "device_count"), 1);
    assert_eq!(s(&item, "received_at"), "2026-11-27T09:54:08.123Z");
    assert_eq!(s(&item, "source_date"), "pos#2026-11-27");
    assert_eq!(s(&item, "source_schema"), "pos#1.2.0");
    assert_eq!(n(&item, "expires_at"), 1_795_773_248 + 30 * 86_400);
    // The key was derived from the accepted events' ids: SHA-256 over the sorted ids,
    // each after its length as a little-endian u64.
    {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(11u64.to_le_bytes());
        h.update(b"sale-000001");
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            s(&item, "idempotency_key"),
            format!("accepted-ids-sha256:{hex}")
        );
    }

    // The GSIs answer from the attributes written.
    let q = env
        .clients
        .dynamodb
        .query()
        .table_name(&env.table)
        .index_name(index::BY_SOURCE_DATE.name)
        .key_condition_expression("source_date = :sd")
        .expression_attribute_values(
            ":sd",
            aws_sdk_dynamodb::types::AttributeValue::S("pos#2026-11-27".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(q.items().len(), 1);
    let q = env
        .clients
        .dynamodb
        .query()
        .table_name(&env.table)
        .index_name(index::BY_DEVICE.name)
        .key_condition_expression("device_id = :d")
        .expression_attribute_values(
            ":d",
            aws_sdk_dynamodb::types::AttributeValue::S("term-001".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(q.items().len(), 1);
    assert_eq!(s(&q.items()[0], "object_key"), key);

    // Object item + one device pointer + the idempotency record.
    let all = items(&env.clients.dynamodb, &env.table).await;
    assert_eq!(
        (
            of_kind(&all, "object").len(),
            of_kind(&all, "device").len(),
            of_kind(&all, "idempotency").len()
        ),
        (1, 1, 1)
    );
    assert!(
        objects(&env.clients.s3, &env.bucket, "rejected/")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_batch_of_5000_events_is_one_object() {
    let env = Env::new("batch5000").await;
    let events: Vec<Value> = (0..5000).map(sale).collect();
    let resp = env
        .send(json_request(&Value::Array(events.clone()), &[]))
        .await;
    assert_eq!(
        resp.status,
        200,
        "{}",
        &resp.text[..resp.text.len().min(500)]
    );
    assert_eq!(resp.json["accepted"], 5000);
    let item = assert_stored(&env, &resp, &events).await;
    assert_eq!(n(&item, "device_count"), 12);
    assert_eq!(item.get("device_ids").unwrap().as_l().unwrap().len(), 5);
    assert_eq!(s(&item, "min_event_time"), "2026-11-27T08:00:00.000Z");
    assert_eq!(s(&item, "max_event_time"), "2026-11-27T08:59:59.000Z");
    assert_eq!(objects(&env.clients.s3, &env.bucket, "raw/").await.len(), 1);
    // 5 recorded devices → 5 pointer items.
    assert_eq!(
        of_kind(&items(&env.clients.dynamodb, &env.table).await, "device").len(),
        5
    );

    // One more event than max_events is refused whole, and nothing is written.
    let env = Env::new("batch5001").await;
    let events: Vec<Value> = (0..5001).map(sale).collect();
    let resp = env.send(json_request(&Value::Array(events), &[])).await;
    assert_eq!(resp.status, 413, "{}", resp.text);
    assert!(objects(&env.clients.s3, &env.bucket, "").await.is_empty());
}

#[tokio::test]
async fn ndjson_bodies_are_one_event_per_line() {
    let env = Env::new("ndjson").await;
    let events: Vec<Value> = (10..13).map(sale).collect();
    let body = format!("{}\r\n\n{}\n{}", events[0], events[1], events[2]);
    let resp = env
        .send(request(
            ROUTE,
            &body,
            &[("content-type", "application/x-ndjson")],
        ))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_stored(&env, &resp, &events).await;
}

#[tokio::test]
async fn gzip_bodies_are_inflated_from_base64() {
    let env = Env::new("gzip").await;
    let events: Vec<Value> = (20..60).map(sale).collect();
    let gz = gzip(ndjson(&events).as_bytes());
    let mut req = request(
        ROUTE,
        &b64(&gz),
        &[
            ("content-type", "application/x-ndjson"),
            ("content-encoding", "gzip"),
        ],
    );
    req.is_base64_encoded = true;
    let resp = env.send(req).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_stored(&env, &resp, &events).await;
}

#[tokio::test]
async fn a_malformed_body_is_kept_with_its_parse_error() {
    let env = Env::new("malformed").await;
    let body = "[{\"event_id\": \"x\",\n  \"total\": 1,,}]";
    let resp = env
        .send(request(
            ROUTE,
            body,
            &[("content-type", "application/json")],
        ))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    let err = resp.json["error"].as_str().unwrap();
    assert!(err.contains("line 2, column 14"), "{err}");
    let rejected = objects(&env.clients.s3, &env.bucket, "rejected/pos/").await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        resp.json["rejected_key"].as_str(),
        Some(rejected[0].0.as_str())
    );
    let line: Value = serde_json::from_str(gunzip(&rejected[0].1).trim_end()).unwrap();
    assert_eq!(line["event"], json!(body));
    assert_eq!(line["errors"][0].as_str(), Some(err));
    assert!(
        objects(&env.clients.s3, &env.bucket, "raw/")
            .await
            .is_empty()
    );
    assert!(items(&env.clients.dynamodb, &env.table).await.is_empty());
}

#[tokio::test]
async fn schema_violations_among_valid_events_get_207() {
    let env = Env::new("mixed").await;
    let good: Vec<Value> = (0..4).map(sale).collect();
    let mut bad_total = sale(100);
    bad_total["total"] = json!(19.999);
    let mut bad_currency = sale(101);
    bad_currency["currency"] = json!("euro");
    bad_currency["extra"] = json!(true);
    let body = json!([
        good[0],
        bad_total,
        good[1],
        good[2],
        bad_currency,
        "not an event",
        good[3]
    ]);
    let resp = env.send(json_request(&body, &[])).await;
    assert_eq!(resp.status, 207, "{}", resp.text);
    assert_eq!(
        (
            resp.json["accepted"].as_u64(),
            resp.json["rejected"].as_u64()
        ),
        (Some(4), Some(3))
    );
    let failures = resp.json["failures"].as_array().unwrap();
    let idx: Vec<u64> = failures
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [1, 4, 5]);
    let reasons = failures[0]["errors"].to_string();
    assert!(
        reasons.contains("/total") && reasons.contains("multiple of"),
        "{reasons}"
    );
    assert_eq!(
        failures[1]["errors"].as_array().unwrap().len(),
        2,
        "{}",
        failures[1]
    );

    let item = assert_stored(&env, &resp, &good).await;
    assert_eq!(n(&item, "rejected_count"), 3);
    let rkey = s(&item, "rejected_key");
    assert_eq!(resp.json["rejected_key"].as_str(), Some(rkey.as_str()));
    let rejected = objects(&env.clients.s3, &env.bucket, &rkey).await;
    let lines: Vec<Value> = gunzip(&rejected[0].1)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["index"], 1);
    assert_eq!(lines[0]["event"], bad_total);
    assert_eq!(lines[1]["event"], bad_currency);
    assert_eq!(lines[2]["event"], json!("not an event"));

    // All rejected: 400, the rejected object, no index.
    let env = Env::new("allbad").await;
    let resp = env
        .send(json_request(&json!([bad_total, bad_currency]), &[]))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    assert_eq!(
        objects(&env.clients.s3, &env.bucket, "rejected/")
            .await
            .len(),
        1
    );
    assert!(
        objects(&env.clients.s3, &env.bucket, "raw/")
            .await
            .is_empty()
    );
    assert!(items(&env.clients.dynamodb, &env.table).await.is_empty());
}

#[tokio::test]
async fn oversized_bodies_and_gzip_bombs_get_413_and_write_nothing() {
    let env = Env::new("oversized").await;
    // The limit is 4 MiB.
    let big = format!("[{}]", vec![sale(1).to_string(); 20000].join(","));
    assert!(big.len() > 4 * 1024 * 1024);
    let resp = env.send(request(ROUTE, &big, &[])).await;
    assert_eq!(resp.status, 413, "{}", resp.text);
    assert!(
        resp.text.contains("larger than 4194304 bytes"),
        "{}",
        resp.text
    );

    // 32 MiB of spaces inside a JSON string, gzipped to about 1/1000 of that.
    let mut e = GzEncoder::new(Vec::new(), Compression::new(9));
    e.write_all(b"{\"event_id\": \"").unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..32 {
        e.write_all(&spaces).unwrap();
    }
    e.write_all(b"\"}").unwrap();
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let mut req = request(ROUTE, &b64(&bomb), &[("content-encoding", "gzip")]);
    req.is_base64_encoded = true;
    let resp = env.send(req).await;
    assert_eq!(resp.status, 413, "{}", resp.text);
    // Refused at the 4 MiB limit while inflating, not after inflating all 32 MiB. How long
    // that takes is measured, not asserted: benches/README.md ("Not asserted in tests").
    assert!(
        resp.text
            .contains("larger than 4194304 bytes (after decompression)"),
        "{}",
        resp.text
    );

    assert!(objects(&env.clients.s3, &env.bucket, "").await.is_empty());
    assert!(items(&env.clients.dynamodb, &env.table).await.is_empty());
}

#[tokio::test]
async fn unsupported_types_encodings_and_routes_are_refused() {
    let env = Env::new("refused").await;
    let body = sale(1).to_string();
    let resp = env
        .send(request(ROUTE, &body, &[("content-type", "text/csv")]))
        .await;
    assert_eq!(resp.status, 415, "{}", resp.text);
    let resp = env
        .send(request(ROUTE, &body, &[("content-encoding", "br")]))
        .await;
    assert_eq!(resp.status, 415, "{}", resp.text);
    let resp = env.send(request("/v1/nope", &body, &[])).await;
    assert_eq!(resp.status, 404, "{}", resp.text);
    let mut get = request(ROUTE, "", &[]);
    get.http_method = aws_lambda_events::http::Method::GET;
    let resp = env.send(get).await;
    assert_eq!((resp.status, resp.header("allow")), (405, Some("POST")));
    let resp = env
        .send(request(
            ROUTE,
            &body,
            &[("idempotency-key", &"k".repeat(300))],
        ))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    assert!(objects(&env.clients.s3, &env.bucket, "").await.is_empty());
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer() {
    let env = Env::new("retry").await;
    let events = json!([sale(1), sale(2), {"bad": true}]);
    let first = env
        .send(json_request(&events, &[("idempotency-key", "order-42")]))
        .await;
    assert_eq!(first.status, 207, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = env
        .send(json_request(&events, &[("idempotency-key", "order-42")]))
        .await;
    assert_eq!(second.status, 207);
    assert_eq!(second.text, first.text);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_ne!(second.header("x-request-id"), first.header("x-request-id"));

    assert_eq!(objects(&env.clients.s3, &env.bucket, "raw/").await.len(), 1);
    assert_eq!(
        objects(&env.clients.s3, &env.bucket, "rejected/")
            .await
            .len(),
        1
    );
    let all = items(&env.clients.dynamodb, &env.table).await;
    assert_eq!(of_kind(&all, "object").len(), 1);
    let idem = of_kind(&all, "idempotency");
    assert_eq!(idem.len(), 1);
    assert_eq!(s(idem[0], index::PK), "idem#pos#order-42");
    assert_eq!(n(idem[0], "expires_at"), 1_795_773_248 + 2 * 86_400);

    // Without a header, the same events (in another order) are the same request.
    let env = Env::new("derived").await;
    let first = env
        .send(json_request(&json!([sale(7), sale(8)]), &[]))
        .await;
    let second = env
        .send(json_request(&json!([sale(8), sale(7)]), &[]))
        .await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.text, first.text);
    assert_eq!(objects(&env.clients.s3, &env.bucket, "raw/").await.len(), 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_store_once() {
    let env = Env::new("race").await;
    let body = json!([sale(1), sale(2)]);
    let h = [("idempotency-key", "race-1")];
    let (a, b, c, d) = tokio::join!(
        env.send(json_request(&body, &h)),
        env.send(json_request(&body, &h)),
        env.send(json_request(&body, &h)),
        env.send(json_request(&body, &h)),
    );
    let all = [a, b, c, d];
    for r in &all {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.text, all[0].text, "every answer is the winner's");
    }
    let fresh = all
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one request wins");
    let items = items(&env.clients.dynamodb, &env.table).await;
    assert_eq!(of_kind(&items, "object").len(), 1);
    assert_eq!(of_kind(&items, "idempotency").len(), 1);
    // Only the request that claimed the key wrote: one object, the winner's.
    assert_stored(&env, &all[0], &[sale(1), sale(2)]).await;
    assert_eq!(objects(&env.clients.s3, &env.bucket, "raw/").await.len(), 1);
    assert!(
        objects(&env.clients.s3, &env.bucket, "rejected/")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn two_concurrent_handler_calls_with_one_key_leave_one_object_and_one_item() {
    // Repeated, because which request claims first varies from run to run.
    for round in 0..5 {
        let env = Env::new("race2").await;
        let key = format!("race-{round}");
        let h = [("idempotency-key", key.as_str())];
        let (a, b) = tokio::join!(
            env.send_metered(json_request(&json!([sale(round), sale(round + 9)]), &h)),
            env.send_metered(json_request(&json!([sale(round + 9), sale(round)]), &h)),
        );
        assert_eq!(
            (a.0.status, b.0.status),
            (200, 200),
            "{} / {}",
            a.0.text,
            b.0.text
        );
        assert_eq!(a.0.text, b.0.text);
        let replayed: Vec<bool> = [&a, &b]
            .iter()
            .map(|r| r.0.header("idempotent-replayed") == Some("true"))
            .collect();
        assert_eq!(replayed.iter().filter(|r| **r).count(), 1, "round {round}");
        // The winner's EMF line counts events; the loser's counts a replay.
        for (r, was_replayed) in [(&a, replayed[0]), (&b, replayed[1])] {
            assert_eq!(r.1.len(), 1);
            if was_replayed {
                assert_eq!(r.1[0]["RequestsReplayed"], 1);
                assert_eq!(r.1[0]["status"], "200");
            } else {
                assert_eq!(r.1[0]["EventsAccepted"], 2);
            }
        }
        assert_eq!(objects(&env.clients.s3, &env.bucket, "raw/").await.len(), 1);
        let all = items(&env.clients.dynamodb, &env.table).await;
        assert_eq!(of_kind(&all, "object").len(), 1);
        let idem = of_kind(&all, "idempotency");
        assert_eq!(idem.len(), 1);
        assert_eq!(n(idem[0], "status"), 200);
        // The bodies hold the same events in another order (a derived key would match
        // too); the object holds the winner's.
        let (winner, events) = if replayed[0] {
            (&b.0, [sale(round + 9), sale(round)])
        } else {
            (&a.0, [sale(round), sale(round + 9)])
        };
        assert_eq!(
            s(idem[0], "request_id"),
            winner.header("x-request-id").unwrap()
        );
        assert_stored(&env, winner, &events).await;
    }
}

#[tokio::test]
async fn a_held_claim_gets_409_and_an_expired_one_is_taken_over() {
    use pipewright_ingest::items::{Held, claim_item};
    use pipewright_ingest::timefmt::Received;
    let env = Env::new("claims").await;
    let received = Received::at(now());
    // Claims as written before they recorded their content and object keys.
    let put_claim = |key: &str, lease_until: i64| {
        let held = Held {
            key: key.into(),
            holder: "other-request".into(),
            content: String::new(),
            object_key: String::new(),
            rejected_key: None,
            received_millis: received.epoch_millis,
            lease_until,
        };
        let mut item = claim_item(&env.setup.config, "pos", &held);
        for k in ["content_sha256", "object_key"] {
            item.remove(k);
        }
        env.clients
            .dynamodb
            .put_item()
            .table_name(&env.table)
            .set_item(Some(item))
            .send()
    };
    // Another request holds the key (lease still running): wait, then 409.
    put_claim("held", received.epoch_secs() + 30).await.unwrap();
    let started = Instant::now();
    let (r, lines) = env
        .send_metered(json_request(&sale(1), &[("idempotency-key", "held")]))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(lines[0]["RequestsRefused"], 1);
    assert_eq!(lines[0]["status"], "409");
    assert!(objects(&env.clients.s3, &env.bucket, "").await.is_empty());

    // A claim whose lease has run out (its request is gone) is taken over.
    put_claim("stale", received.epoch_secs() - 1).await.unwrap();
    let r = env
        .send(json_request(&sale(2), &[("idempotency-key", "stale")]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_stored(&env, &r, &[sale(2)]).await;
    let all = items(&env.clients.dynamodb, &env.table).await;
    let records: Vec<_> = of_kind(&all, "idempotency")
        .into_iter()
        .filter(|i| s(i, "pk") == "idem#pos#stale")
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        s(records[0], "request_id"),
        r.header("x-request-id").unwrap()
    );
    assert_eq!(n(records[0], "status"), 200);
}

#[tokio::test]
async fn refusals_and_replays_have_their_own_metric_lines() {
    let env = Env::new("emf").await;
    let refused = |status: u16, lines: &[Value]| {
        assert_eq!(lines.len(), 1, "{lines:?}");
        let l = &lines[0];
        assert_eq!(l["RequestsRefused"], 1);
        assert_eq!(l["status"], status.to_string());
        assert_eq!(
            (l["pipeline"].as_str(), l["source"].as_str()),
            (Some("shop"), Some("pos"))
        );
        assert_eq!(l["_aws"]["Timestamp"], 1_795_773_248_123i64);
        assert_eq!(
            l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "RequestsRefused"
        );
        assert!(l.get("EventsAccepted").is_none());
    };

    // 413: over the body limit.
    let big = json!([{"pad": "x".repeat(5 * 1024 * 1024)}]);
    let (r, lines) = env.send_metered(json_request(&big, &[])).await;
    assert_eq!(r.status, 413, "{}", r.text);
    refused(413, &lines);
    // 415: not JSON.
    let mut req = request(ROUTE, "a,b", &[]);
    req.headers
        .insert("content-type", "text/csv".parse().unwrap());
    let (r, lines) = env.send_metered(req).await;
    assert_eq!(r.status, 415, "{}", r.text);
    refused(415, &lines);
    // 400: a bad Idempotency-Key, and a body without events.
    let (r, lines) = env
        .send_metered(json_request(&sale(1), &[("idempotency-key", "a b")]))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    refused(400, &lines);
    let (r, lines) = env.send_metered(json_request(&json!([]), &[])).await;
    assert_eq!(r.status, 400, "{}", r.text);
    refused(400, &lines);
    assert!(objects(&env.clients.s3, &env.bucket, "").await.is_empty());

    // A stored request: the per-request line only. Its replay: the replay line only.
    let (first, lines) = env
        .send_metered(json_request(
            &json!([sale(1), {"bad": 1}]),
            &[("idempotency-key", "k1")],
        ))
        .await;
    assert_eq!(first.status, 207, "{}", first.text);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0]["EventsAccepted"].as_u64(),
            lines[0]["EventsRejected"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(lines[0].get("RequestsReplayed").is_none());
    let (again, lines) = env
        .send_metered(json_request(
            &json!([sale(1), {"bad": 1}]),
            &[("idempotency-key", "k1")],
        ))
        .await;
    assert_eq!(again.status, 207);
    assert_eq!(again.text, first.text);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["RequestsReplayed"], 1);
    assert_eq!(lines[0]["status"], "207");
    assert_eq!(lines[0]["source"], "pos");
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["pipeline", "source"]])
    );
}

#[tokio::test]
async fn when_the_emulator_dies_the_answer_is_503_and_nothing_is_half_indexed() {
    let shared = endpoint();
    let mut private = PrivateMoto::start();

    // Healthy private emulator: stored.
    let env = Env::with("dies", &private.endpoint, vec![]).await;
    let resp = env.send(json_request(&sale(1), &[])).await;
    assert_eq!(resp.status, 200, "{}", resp.text);

    private.kill();
    let resp = env
        .send(json_request(
            &sale(2),
            &[("idempotency-key", "after-death")],
        ))
        .await;
    assert_eq!(resp.status, 503, "{}", resp.text);
    assert_eq!(resp.header("retry-after"), Some("2"));

    // S3 dead, DynamoDB alive: no index item may appear.
    let live = Env::with("s3dead", &shared, vec![]).await;
    let mut split = Env {
        clients: clients_split(&private.endpoint, &shared),
        setup: pipewright_ingest::Setup::new(config(vec![]), live.setup.names.clone()).unwrap(),
        bucket: live.bucket.clone(),
        table: live.table.clone(),
    };
    let resp = split
        .send(json_request(&sale(3), &[("idempotency-key", "s3-dead")]))
        .await;
    assert_eq!(resp.status, 503, "{}", resp.text);
    // The only item is the key's claim, released (lease in the past, no answer).
    let all = items(&live.clients.dynamodb, &live.table).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(s(&all[0], "kind"), "idempotency");
    assert_eq!(n(&all[0], "lease_until"), 0);
    assert!(!all[0].contains_key("response"));

    // S3 alive, DynamoDB dead. With an idempotency key the lookup fails first, so
    // nothing is written at all.
    split.clients = clients_split(&shared, &private.endpoint);
    let resp = split
        .send(json_request(&sale(3), &[("idempotency-key", "s3-dead")]))
        .await;
    assert_eq!(resp.status, 503, "{}", resp.text);
    assert!(objects(&live.clients.s3, &live.bucket, "").await.is_empty());
    // Without a key (the ferry source has no id field) the object is written, then
    // the transaction fails: the object has no index item.
    let resp = split
        .send(request(
            FERRY_ROUTE,
            &json!({"gate": "g9"}).to_string(),
            &[],
        ))
        .await;
    assert_eq!(resp.status, 503, "{}", resp.text);
    assert_eq!(
        objects(&live.clients.s3, &live.bucket, "raw/ferry/")
            .await
            .len(),
        1
    );
    assert!(of_kind(&items(&live.clients.dynamodb, &live.table).await, "object").is_empty());

    // Recovered: the retry takes the released claim over at once (no 409) and stores
    // and indexes once.
    let resp = live
        .send(json_request(&sale(3), &[("idempotency-key", "s3-dead")]))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_stored(&live, &resp, &[sale(3)]).await;
    let all = items(&live.clients.dynamodb, &live.table).await;
    assert_eq!(of_kind(&all, "object").len(), 1);
    let idem = of_kind(&all, "idempotency");
    assert_eq!(idem.len(), 1);
    assert_eq!(n(idem[0], "status"), 200);
    // Every index item points at an object that exists.
    for item in of_kind(&all, "object") {
        let key = s(item, "object_key");
        assert_eq!(
            objects(&live.clients.s3, &live.bucket, &key).await.len(),
            1,
            "{key}"
        );
    }
}

#[tokio::test]
async fn glue_jobs_start_and_a_busy_job_does_not_fail_the_request() {
    // A private moto, because job runs must stay RUNNING (a server-wide setting).
    let moto = PrivateMoto::start();
    let status = moto.post(
        "/moto-api/state-manager/set-transition",
        r#"{"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1000}}"#,
    );
    assert!(status.contains(" 20"), "{status}");
    let shared = moto.endpoint.clone();
    let job = unique("job");
    let g = glue(&shared);
    g.create_job()
        .name(&job)
        .role("arn:aws:iam::123456789012:role/glue")
        .command(
            aws_sdk_glue::types::JobCommand::builder()
                .name("glueetl")
                .script_location("s3://x/y.py")
                .build(),
        )
        .execution_property(
            aws_sdk_glue::types::ExecutionProperty::builder()
                .max_concurrent_runs(1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let env = Env::with("glue", &shared, vec![job.clone()]).await;
    for gate in ["g1", "g2"] {
        let resp = env
            .send(request(
                FERRY_ROUTE,
                &json!({"gate": gate}).to_string(),
                &[],
            ))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.text);
    }
    let runs = g.get_job_runs().job_name(&job).send().await.unwrap();
    assert_eq!(
        runs.job_runs().len(),
        1,
        "the second start hits MaxConcurrentRuns and is tolerated"
    );
    assert_eq!(
        objects(&env.clients.s3, &env.bucket, "raw/ferry/")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn local_mode_serves_the_same_handler_over_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = Env::new("local").await;
    let (bucket, table, s3c) = (
        env.bucket.clone(),
        env.table.clone(),
        env.clients.s3.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(pipewright_ingest::local::serve_on(
        listener,
        Arc::new(env.clients),
        Arc::new(env.setup),
    ));
    let post = |path: &'static str, body: Vec<u8>, extra: &'static str| async move {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&body).await.unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).await.unwrap();
        out
    };
    let events: Vec<Value> = (0..3).map(sale).collect();
    let out = post(
        ROUTE,
        gzip(ndjson(&events).as_bytes()),
        "content-encoding: gzip\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let body: Value = serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let key = body["object_key"].as_str().unwrap();
    let objs = objects(&s3c, &bucket, key).await;
    assert_eq!(gunzip(&objs[0].1), ndjson(&events));
    let out = post("/v1/other", b"{}".to_vec(), "").await;
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    server.abort();
    let _ = table;
}

#[tokio::test]
async fn a_corrected_resend_without_a_key_is_stored_not_replayed() {
    let env = Env::new("corrected").await;
    let a = sale(1);
    let mut b = sale(2);
    b["total"] = json!(-1);
    let first = env.send(json_request(&json!([a, b]), &[])).await;
    assert_eq!(first.status, 207, "{}", first.text);
    // The same (still invalid) batch again: the same accepted content, a replay.
    let again = env.send(json_request(&json!([a, b]), &[])).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.text, first.text);
    // B corrected: other accepted content, another key, stored.
    let fixed = env
        .send(json_request(&json!([sale(1), sale(2)]), &[]))
        .await;
    assert_eq!(fixed.status, 200, "{}", fixed.text);
    assert_eq!(fixed.header("idempotent-replayed"), None);
    assert_ne!(fixed.json["idempotency_key"], first.json["idempotency_key"]);
    assert_stored(&env, &fixed, &[sale(1), sale(2)]).await;
    // raw/ holds A twice (once per request that carried it) and B once.
    let raw = objects(&env.clients.s3, &env.bucket, "raw/").await;
    assert_eq!(raw.len(), 2);
}

#[tokio::test]
async fn a_key_reused_for_other_events_gets_422_and_a_207_says_how_to_resend() {
    let env = Env::new("reused").await;
    let h = [("idempotency-key", "batch-7")];
    let mut bad = sale(2);
    bad["currency"] = json!("euro");
    let first = env.send(json_request(&json!([sale(1), bad]), &h)).await;
    assert_eq!(first.status, 207, "{}", first.text);
    assert!(
        first.json["resend"].as_str().unwrap().contains("new key"),
        "{}",
        first.text
    );
    let reused = env.send(json_request(&json!([sale(1), sale(2)]), &h)).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert!(reused.json["error"].as_str().unwrap().contains("new key"));
    // Nothing more was stored.
    assert_eq!(objects(&env.clients.s3, &env.bucket, "raw/").await.len(), 1);
    let all = items(&env.clients.dynamodb, &env.table).await;
    assert_eq!(of_kind(&all, "object").len(), 1);
}

#[tokio::test]
async fn a_key_that_is_not_visible_ascii_gets_400_with_the_reason() {
    use aws_lambda_events::http::HeaderValue;
    let env = Env::new("badkey").await;
    for (bytes, reason) in [
        ("ключ".as_bytes(), "non-ASCII byte 0xd0 at byte 0"),
        (b"a b".as_slice(), "a space at byte 1"),
        (b"   ".as_slice(), "empty"),
    ] {
        let mut req = json_request(&sale(1), &[]);
        req.headers.insert(
            "idempotency-key",
            HeaderValue::from_bytes(bytes).expect("header bytes"),
        );
        let r = env.send(req).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            r.json["error"].as_str().unwrap().contains(reason),
            "{}",
            r.text
        );
    }
    assert!(objects(&env.clients.s3, &env.bucket, "").await.is_empty());
}

#[tokio::test]
async fn duplicate_keys_and_bytes_that_are_not_utf8_are_rejected_and_kept_exactly() {
    let env = Env::new("exact").await;
    let dup = r#"{"event_id":"d","store_id":"s","terminal_id":"t","occurred_at":"2026-11-27T08:00:00Z","currency":"EUR","total":1,"total":2,"items":[{"sku":"a","qty":1,"unit_price":1}]}"#;
    let not_utf8: &[u8] = b"{\"event_id\":\"\xff\"}";
    let mut body = format!("{}\n{dup}\n", sale(1)).into_bytes();
    body.extend_from_slice(not_utf8);
    let mut req = request(
        ROUTE,
        &b64(&body),
        &[("content-type", "application/x-ndjson")],
    );
    req.is_base64_encoded = true;
    let r = env.send(req).await;
    assert_eq!(r.status, 207, "{}", r.text);
    assert_eq!(r.json["accepted"], 1);
    assert_eq!(
        r.json["failures"][0]["errors"][0],
        "/total: the key appears more than once in its object"
    );
    let rejected = objects(&env.clients.s3, &env.bucket, "rejected/").await;
    let lines: Vec<Value> = gunzip(&rejected[0].1)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let kept = base64::engine::general_purpose::STANDARD
        .decode(lines[1]["event_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(kept, not_utf8, "the bytes that arrived, exactly");
}
