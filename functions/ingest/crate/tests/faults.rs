//! The ingest protocol under faults (issue 18), against a real moto server
//! (`PIPEWRIGHT_MOTO_ENDPOINT`): every AWS call of a request in turn fails, fails after
//! moto carried it out (response lost), answers slowly, or the process dies just
//! before or just after it. A device then retries with the same key as a device would
//! (after 409 and 503, and after no answer at all). Afterwards moto's own state (the
//! bucket listed, the table scanned) must hold every accepted event in raw/ exactly
//! once, indexed, the rejected ones once, and no claim left; and every answer after
//! the first success must equal it. (The load test is `tests/load.rs`, a binary of
//! its own so that it does not share moto with these.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fault::Mode;
use common::rig::*;
use common::*;
use pipewright_ingest_config::index;
use serde_json::Value;

/// A device: sends until it has an answer that is not 409 or 503 (or none), each
/// retry a minute later (past any lease), then once more as a device whose answer was
/// lost would. Returns every answer (`None`: the process died).
async fn device(rig: &Arc<Rig>, body: &Value, key: &str) -> Vec<Option<Resp>> {
    let mut answers = Vec::new();
    for n in 0..8u64 {
        let at = now() + Duration::from_secs(61 * n);
        let r = attempt(rig, body, key, at).await;
        let done = matches!(&r, Some(r) if r.status != 409 && r.status != 503);
        answers.push(r);
        if done {
            rig.faults.clear();
            answers.push(attempt(rig, body, key, at + Duration::from_secs(5)).await);
            return answers;
        }
    }
    panic!("no answer after 8 attempts: {answers:?}");
}

/// The invariants, from moto's state and the answers.
async fn check(rig: &Rig, what: &str, answers: &[Option<Resp>], accepted: &[Value]) {
    let ok: Vec<&Resp> = answers
        .iter()
        .flatten()
        .filter(|r| r.status == 207)
        .collect();
    assert!(!ok.is_empty(), "{what}: no success in {answers:?}");
    for r in answers.iter().flatten() {
        assert!(
            [207, 409, 503].contains(&r.status),
            "{what}: unexpected answer {} {}",
            r.status,
            r.text
        );
    }
    for r in &ok[1..] {
        assert_eq!(r.text, ok[0].text, "{what}: a retry's answer differs");
    }
    let last = answers.last().unwrap().as_ref().unwrap();
    assert_eq!(last.header("idempotent-replayed"), Some("true"), "{what}");

    let raw = objects(&rig.plain.s3, &rig.bucket, "raw/").await;
    let keys: Vec<&str> = raw.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(raw.len(), 1, "{what}: raw objects {keys:?}");
    assert_eq!(
        lines(&gunzip(&raw[0].1)),
        accepted,
        "{what}: raw/ holds each accepted event exactly once"
    );
    assert_eq!(ok[0].json["object_key"], raw[0].0.as_str(), "{what}");
    let rejected = objects(&rig.plain.s3, &rig.bucket, "rejected/").await;
    assert_eq!(rejected.len(), 1, "{what}: rejected objects");
    assert_eq!(lines(&gunzip(&rejected[0].1)).len(), 1, "{what}");

    let all = items(&rig.plain.dynamodb, &rig.table).await;
    let objs = of_kind(&all, "object");
    assert_eq!(objs.len(), 1, "{what}: object items {objs:?}");
    assert_eq!(s(objs[0], index::PK), format!("object#{}", raw[0].0));
    assert_eq!(n(objs[0], "event_count"), accepted.len() as i64);
    assert_eq!(n(objs[0], "stored_bytes"), raw[0].1.len() as i64);
    let idem = of_kind(&all, "idempotency");
    assert_eq!(idem.len(), 1, "{what}: idempotency items");
    assert_eq!(
        attr_s(idem[0], "response").as_deref(),
        Some(ok[0].text.as_str()),
        "{what}: the record is answered with the first success"
    );
    assert_eq!(
        of_kind(&all, "device").len(),
        accepted
            .iter()
            .map(|e| e["terminal_id"].to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        "{what}: device pointers"
    );
}

/// The calls of one undisturbed request, in order.
async fn baseline() -> Vec<String> {
    let rig = rig("baseline").await;
    let (b, ok) = body(0);
    let answers = device(&rig, &b, "k").await;
    check(&rig, "baseline", &answers, &ok).await;
    let calls = rig.faults.calls();
    // The device's extra retry is a replay: one claim attempt only.
    let first: Vec<String> = calls[..calls.len() - 1].to_vec();
    assert_eq!(
        first,
        [
            "PutItem",
            "PutObject",
            "PutObject",
            "TransactWriteItems",
            "StartJobRun"
        ],
        "the request path's calls"
    );
    first
}

/// Runs every step × `modes`; `first_succeeds`: the device's first attempt must be
/// the success (the SDK's own retry absorbs the fault).
async fn matrix(name: &str, modes: &[(Mode, usize)], first_succeeds: bool) {
    let steps = baseline().await;
    let mut ran = 0;
    for (k, step) in steps.iter().enumerate() {
        for &(mode, times) in modes {
            let what = format!("{name}: {mode:?} x{times} at call {k} ({step})");
            let rig = rig(name).await;
            let (b, ok) = body(k + 1);
            rig.faults.plan(k, mode, times);
            let started = Instant::now();
            let answers = device(&rig, &b, &format!("key-{k}")).await;
            check(&rig, &what, &answers, &ok).await;
            if first_succeeds {
                assert_eq!(
                    answers[0].as_ref().map(|r| r.status),
                    Some(207),
                    "{what}: {answers:?}"
                );
            }
            eprintln!(
                "{what}: {} attempts, statuses {:?}, {:?}",
                answers.len(),
                answers
                    .iter()
                    .map(|a| a.as_ref().map(|r| r.status))
                    .collect::<Vec<_>>(),
                started.elapsed()
            );
            ran += 1;
        }
    }
    assert_eq!(ran, steps.len() * modes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failed_or_lost_or_slow_attempt_is_absorbed_by_the_sdk_retry() {
    matrix(
        "absorbed",
        &[
            (Mode::Fail, 1),
            (Mode::Lost, 1),
            (Mode::Slow(Duration::from_millis(1500)), 1),
            (Mode::Slow(Duration::from_millis(300)), 1),
        ],
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_fails_every_sdk_attempt_is_retried_by_the_device() {
    // x3: every SDK attempt of the call; x4: and the release after it.
    matrix(
        "device-retries",
        &[(Mode::Fail, 3), (Mode::Fail, 4), (Mode::Lost, 3)],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_before_or_after_any_call_is_finished_by_the_retry() {
    matrix(
        "killed",
        &[(Mode::KillBefore, 1), (Mode::KillAfter, 1)],
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_while_the_dead_attempts_lease_runs_gets_409_then_finishes() {
    let rig = rig("lease").await;
    let (b, ok) = body(3);
    // Killed after its object is stored, before the index.
    rig.faults.plan(3, Mode::KillBefore, 1);
    assert!(attempt(&rig, &b, "lease", now()).await.is_none());
    let early = attempt(&rig, &b, "lease", now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(early.status, 409, "{}", early.text);
    // The object is in raw/ and its claim names it: an orphan that can be found.
    let raw = objects(&rig.plain.s3, &rig.bucket, "raw/").await;
    assert_eq!(raw.len(), 1);
    let all = items(&rig.plain.dynamodb, &rig.table).await;
    let claim = of_kind(&all, "idempotency");
    assert_eq!(attr_s(claim[0], "object_key"), Some(raw[0].0.clone()));
    assert!(of_kind(&all, "object").is_empty());
    let later = attempt(&rig, &b, "lease", now() + Duration::from_secs(61))
        .await
        .unwrap();
    assert_eq!(later.status, 207, "{}", later.text);
    let again = attempt(&rig, &b, "lease", now() + Duration::from_secs(62))
        .await
        .unwrap();
    check(&rig, "lease", &[Some(early), Some(later), Some(again)], &ok).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_in_the_next_hour_stores_under_the_first_attempts_partition() {
    let rig = rig("hour").await;
    let (b, ok) = body(4);
    // 09:54:08 first; the index fails every attempt and the release too.
    rig.faults.plan(3, Mode::Fail, 4);
    let first = attempt(&rig, &b, "hour", now()).await.unwrap();
    assert_eq!(first.status, 503, "{}", first.text);
    rig.faults.clear();
    let later = attempt(&rig, &b, "hour", now() + Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(later.status, 207, "{}", later.text);
    let key = later.json["object_key"].as_str().unwrap();
    assert!(key.contains("/dt=2026-11-27/hour=09/"), "{key}");
    let again = attempt(&rig, &b, "hour", now() + Duration::from_secs(3700))
        .await
        .unwrap();
    check(&rig, "hour", &[Some(first), Some(later), Some(again)], &ok).await;
}
