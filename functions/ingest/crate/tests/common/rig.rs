//! A test rig for the fault tests: a bucket, a table and a Glue job of one test, the
//! handler's clients going through a fault-injecting connector, plain clients to read
//! moto's state with, and a device's attempt that a kill fault aborts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use pipewright_ingest::{Clients, Names, Setup};
use serde_json::{Value, json};

use super::fault::Faults;
use super::*;

/// The SDK's per-attempt timeout of the faulted clients; `Mode::Slow` beyond it is a
/// timeout whose request moto still carried out.
pub const ATTEMPT: Duration = Duration::from_millis(1000);

pub const JOB: &str = "pw-faults-transform";

/// One test's bucket, table and Glue job, clients through `faults`, and plain clients
/// to read moto's state with.
pub struct Rig {
    pub faults: Faults,
    pub clients: Clients,
    pub setup: Setup,
    pub plain: Clients,
    pub bucket: String,
    pub table: String,
}

pub async fn rig(test: &str) -> Arc<Rig> {
    rig_with(test, ATTEMPT).await
}

/// [`rig`] with another per-attempt timeout.
pub async fn rig_with(test: &str, attempt: Duration) -> Arc<Rig> {
    rig_at(&endpoint(), test, attempt).await
}

/// [`rig_with`] on the moto at `ep`.
pub async fn rig_at(ep: &str, test: &str, attempt: Duration) -> Arc<Rig> {
    let ep = ep.to_string();
    let plain = clients(&ep);
    let (bucket, table) = (unique(test), unique(test));
    create_bucket(&plain.s3, &bucket).await;
    create_table(&plain.dynamodb, &table).await;
    let _ = plain
        .glue
        .create_job()
        .name(JOB)
        .role("arn:aws:iam::123456789012:role/glue")
        .command(
            aws_sdk_glue::types::JobCommand::builder()
                .name("glueetl")
                .script_location("s3://scripts/t.py")
                .build(),
        )
        .send()
        .await;
    let mut config = config(vec![]);
    config.sources.get_mut("pos").unwrap().start_jobs = vec![JOB.into()];
    let names = Names {
        raw_bucket: bucket.clone(),
        index_table: table.clone(),
        kms_key_arn: Some(KMS_KEY.into()),
    };
    let faults = Faults::default();
    Arc::new(Rig {
        clients: clients_through(&ep, faults.client(), attempt),
        faults,
        setup: Setup::new(config, names).unwrap(),
        plain,
        bucket,
        table,
    })
}

/// One attempt of the device, received at `now`; `None` when the process died
/// (a kill fault fired and the handler was aborted).
pub async fn attempt(
    rig: &Arc<Rig>,
    body: &Value,
    key: &str,
    now: std::time::SystemTime,
) -> Option<Resp> {
    let req = json_request(body, &[("idempotency-key", key)]);
    let r = rig.clone();
    let mut task =
        tokio::spawn(
            async move { pipewright_ingest::handle(req, &r.clients, &r.setup, now).await },
        );
    tokio::select! {
        done = &mut task => Some(Resp::from(done.expect("the handler does not panic"))),
        () = rig.faults.killed.notified() => {
            task.abort();
            let _ = task.await;
            None
        }
    }
}

/// The events of every test body: three sales, one event the schema rejects.
pub fn body(seed: usize) -> (Value, Vec<Value>) {
    let ok: Vec<Value> = (0..3).map(|i| sale(seed * 10 + i)).collect();
    let mut all = ok.clone();
    all.insert(1, json!({"event_id": format!("bad-{seed}"), "total": -1}));
    (Value::Array(all), ok)
}

pub fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn attr_s(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
