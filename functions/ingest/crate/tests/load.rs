//! The ingest protocol under load (issue 18): 500 devices send at once against one
//! moto server (`PIPEWRIGHT_MOTO_ENDPOINT`), with lost responses, failed connections
//! and slow answers spread over their calls, each retrying with its key until it has
//! an answer. moto's state must then hold every accepted event in raw/ exactly once,
//! every object indexed and every key answered.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::fault::Mode;
use common::rig::*;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes against moto: .ci/run runs it in the background (cargo test -p pipewright-ingest --test load -- --ignored)"]
async fn five_hundred_devices_at_once_with_faults_store_every_event_once() {
    const DEVICES: usize = 500;
    // moto answers about 150 calls a second here, one transaction at a time (see
    // `fault::MOTO_TRANSACTIONS`): with 500 requests in flight a call waits seconds.
    // A private moto: its transactions deep-copy every table it holds, so a server
    // full of other tests' tables would make each one slower.
    let moto = PrivateMoto::start();
    let rig = rig_at(&moto.endpoint, "load", Duration::from_secs(60)).await;
    // Lost responses, failed connections and slow answers spread over the calls.
    rig.faults.every(vec![
        (29, 3, Mode::Lost),
        (31, 5, Mode::Fail),
        (37, 6, Mode::Slow(Duration::from_millis(200))),
    ]);
    // moto's server takes a few dozen connections at once; 500 requests share 32.
    rig.faults.limit(32);
    let _ = tracing_subscriber::fmt()
        .with_env_filter("pipewright_ingest=error")
        .with_test_writer()
        .try_init();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for d in 0..DEVICES {
        let rig = rig.clone();
        tasks.push(tokio::spawn(async move {
            let (b, _) = body(1000 + d);
            let mut answers = Vec::new();
            for n in 0..16u64 {
                let at = now() + Duration::from_secs(61 * n);
                let r = attempt(&rig, &b, &format!("device-{d}"), at).await.unwrap();
                let status = r.status;
                answers.push(r);
                if status != 409 && status != 503 {
                    break;
                }
            }
            answers
        }));
    }
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut finals = Vec::new();
    for t in tasks {
        let answers = t.await.unwrap();
        for a in &answers {
            *by_status.entry(a.status).or_default() += 1;
        }
        finals.push(answers.last().unwrap().clone());
    }
    let elapsed = started.elapsed();
    rig.faults.clear();
    eprintln!(
        "load: {DEVICES} devices, answers by status {by_status:?}, {} calls, {elapsed:?}",
        rig.faults.calls().len()
    );
    for (d, f) in finals.iter().enumerate() {
        assert_eq!(f.status, 207, "device {d}: {}", f.text);
    }
    // Every device's retry now replays its first success.
    for (d, f) in finals.iter().enumerate().step_by(25) {
        let (b, _) = body(1000 + d);
        let r = attempt(
            &rig,
            &b,
            &format!("device-{d}"),
            now() + Duration::from_secs(900),
        )
        .await
        .unwrap();
        assert_eq!(r.text, f.text, "device {d}");
    }

    // moto's state: one raw object per device, each accepted event exactly once.
    let raw = objects(&rig.plain.s3, &rig.bucket, "raw/").await;
    assert_eq!(raw.len(), DEVICES, "raw objects");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, gz) in &raw {
        for e in lines(&gunzip(gz)) {
            *seen
                .entry(e["event_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let expected: Vec<String> = (0..DEVICES)
        .flat_map(|d| body(1000 + d).1)
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen.len(), expected.len(), "distinct events in raw/");
    assert!(
        seen.values().all(|n| *n == 1),
        "duplicates: {:?}",
        seen.iter()
            .filter(|(_, n)| **n > 1)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(expected.iter().all(|e| seen.contains_key(e)), "lost events");
    let rejected = objects(&rig.plain.s3, &rig.bucket, "rejected/").await;
    assert_eq!(rejected.len(), DEVICES, "rejected objects");

    let all = items(&rig.plain.dynamodb, &rig.table).await;
    let objs = of_kind(&all, "object");
    assert_eq!(objs.len(), DEVICES, "object items");
    let indexed: BTreeSet<String> = objs.iter().map(|i| s(i, "object_key")).collect();
    assert!(
        raw.iter().all(|(k, _)| indexed.contains(k)),
        "every raw object is indexed"
    );
    let idem = of_kind(&all, "idempotency");
    assert_eq!(idem.len(), DEVICES);
    assert!(
        idem.iter().all(|i| i.contains_key("response")),
        "no claim is left unanswered"
    );
}
