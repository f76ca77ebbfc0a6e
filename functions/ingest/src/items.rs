//! DynamoDB items of the metadata index, built from the contract's `index` module:
//! the object item, device pointer items and the idempotency record.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use pipewright_ingest_config::index::{self, attr};
use pipewright_ingest_config::{IngestConfig, Lookups};

use crate::batch::Processed;
use crate::timefmt::{Received, format_millis};

pub type Item = HashMap<String, AttributeValue>;

/// Item kinds (`kind` attribute).
pub mod kind {
    pub const OBJECT: &str = "object";
    pub const DEVICE: &str = "device";
    pub const IDEMPOTENCY: &str = "idempotency";
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// What one stored request is, for its index items.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub source: &'a str,
    pub schema_version: &'a str,
    pub object_key: &'a str,
    pub rejected_key: Option<&'a str>,
    pub request_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// The accepted content (hex SHA-256) the idempotency key names.
    pub content: Option<&'a str>,
    pub received: &'a Received,
    pub processed: &'a Processed,
}

fn ttl(config_days: Option<u32>, received: &Received) -> Option<AttributeValue> {
    config_days.map(|d| n(received.epoch_secs() + i64::from(d) * 86_400))
}

/// The object item: `pk = object#<key>`, `sk = object`.
pub fn object_item(config: &IngestConfig, st: &Stored<'_>) -> Item {
    let p = st.processed;
    let mut item: Item = HashMap::new();
    let mut put = |k: &str, v: AttributeValue| {
        item.insert(k.to_string(), v);
    };
    put(index::PK, s(index::object_pk(st.object_key)));
    put(index::SK, s(index::OBJECT_SK));
    put(attr::KIND, s(kind::OBJECT));
    put(attr::OBJECT_KEY, s(st.object_key));
    put(attr::SOURCE, s(st.source));
    put(attr::SCHEMA_VERSION, s(st.schema_version));
    put(attr::EVENT_COUNT, n(p.accepted.lines));
    put(attr::REJECTED_COUNT, n(p.failures.len()));
    if let Some(k) = st.rejected_key {
        put(attr::REJECTED_KEY, s(k));
    }
    put(attr::BYTES, n(p.accepted.bytes));
    put(attr::STORED_BYTES, n(p.accepted.gz.len()));
    if let Some(t) = p.min_event_time {
        put(attr::MIN_EVENT_TIME, s(format_millis(t)));
    }
    if let Some(t) = p.max_event_time {
        put(attr::MAX_EVENT_TIME, s(format_millis(t)));
    }
    if !p.device_ids.is_empty() {
        put(
            attr::DEVICE_IDS,
            AttributeValue::L(p.device_ids.iter().map(s).collect()),
        );
    }
    put(attr::DEVICE_COUNT, n(p.device_count));
    put(attr::REQUEST_ID, s(st.request_id));
    if let Some(k) = st.idempotency_key {
        put(attr::IDEMPOTENCY_KEY, s(k));
    }
    put(attr::RECEIVED_AT, s(&st.received.rfc3339));
    let Lookups {
        by_source_date,
        by_schema_version,
        ..
    } = config.lookups;
    if by_source_date {
        put(
            attr::SOURCE_DATE,
            s(format!("{}#{}", st.source, st.received.date)),
        );
    }
    if by_schema_version {
        put(
            attr::SOURCE_SCHEMA,
            s(format!("{}#{}", st.source, st.schema_version)),
        );
    }
    if let Some(t) = ttl(config.index_ttl_days, st.received) {
        put(index::TTL, t);
    }
    item
}

/// Device pointer items (`lookups.by_device`), at most `room` of them: one per recorded
/// device id.
pub fn device_items(config: &IngestConfig, st: &Stored<'_>, room: usize) -> Vec<Item> {
    if !config.lookups.by_device {
        return Vec::new();
    }
    st.processed
        .device_ids
        .iter()
        .take(room)
        .map(|d| {
            let mut item: Item = HashMap::new();
            item.insert(index::PK.into(), s(index::object_pk(st.object_key)));
            item.insert(index::SK.into(), s(index::device_sk(d)));
            item.insert(attr::KIND.into(), s(kind::DEVICE));
            item.insert(attr::DEVICE_ID.into(), s(d));
            item.insert(attr::OBJECT_KEY.into(), s(st.object_key));
            item.insert(attr::SOURCE.into(), s(st.source));
            item.insert(attr::RECEIVED_AT.into(), s(&st.received.rfc3339));
            if let Some(t) = ttl(config.index_ttl_days, st.received) {
                item.insert(index::TTL.into(), t);
            }
            item
        })
        .collect()
}

/// The key of an idempotency record.
pub fn idempotency_key_item(source: &str, key: &str) -> Item {
    HashMap::from([
        (index::PK.to_string(), s(index::idempotency_pk(source, key))),
        (index::SK.to_string(), s(index::IDEMPOTENCY_SK)),
    ])
}

/// The idempotency record holding the first response.
pub fn idempotency_item(
    config: &IngestConfig,
    st: &Stored<'_>,
    key: &str,
    status: u16,
    body: &str,
) -> Item {
    let mut item = idempotency_key_item(st.source, key);
    item.insert(attr::KIND.into(), s(kind::IDEMPOTENCY));
    item.insert(attr::SOURCE.into(), s(st.source));
    item.insert(attr::IDEMPOTENCY_KEY.into(), s(key));
    item.insert(attr::STATUS.into(), n(status));
    item.insert(attr::RESPONSE.into(), s(body));
    if let Some(c) = st.content {
        item.insert(attr::CONTENT.into(), s(c));
    }
    if let Some(k) = st.rejected_key {
        item.insert(attr::REJECTED_KEY.into(), s(k));
    }
    item.insert(attr::REQUEST_ID.into(), s(st.request_id));
    item.insert(attr::OBJECT_KEY.into(), s(st.object_key));
    item.insert(attr::RECEIVED_AT.into(), s(&st.received.rfc3339));
    item.insert(
        index::TTL.into(),
        n(st.received.epoch_secs() + i64::from(config.idempotency_ttl_days) * 86_400),
    );
    item
}

/// Seconds a claim holds an idempotency key: longer than a request can run (API
/// Gateway ends an integration after 29 s, and synth gives the function the same
/// timeout), so a claim is only taken over from a request that is no longer running.
pub const CLAIM_LEASE_SECS: i64 = 60;

/// A claim on an idempotency key: who holds it and until when, and what the key's
/// request stores where. The object keys and the receive time are fixed by the first
/// attempt and kept by every attempt that takes the claim over, so a retry writes the
/// same objects (never a second copy) and indexes them under the same date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub key: String,
    /// Request id of the attempt holding the claim.
    pub holder: String,
    /// Hex SHA-256 of the accepted content.
    pub content: String,
    pub object_key: String,
    pub rejected_key: Option<String>,
    /// When the key's first attempt was received (ms since the epoch).
    pub received_millis: i64,
    /// Epoch seconds until which the holder may write; 0 once released.
    pub lease_until: i64,
}

/// The claim's item: the record's key without a response. The first request to put
/// it (conditionally) writes; [`idempotency_item`] later replaces it with the answer.
pub fn claim_item(config: &IngestConfig, source: &str, h: &Held) -> Item {
    let received = Received::from_millis(h.received_millis);
    let mut item = idempotency_key_item(source, &h.key);
    item.insert(attr::KIND.into(), s(kind::IDEMPOTENCY));
    item.insert(attr::SOURCE.into(), s(source));
    item.insert(attr::IDEMPOTENCY_KEY.into(), s(&h.key));
    item.insert(attr::REQUEST_ID.into(), s(&h.holder));
    item.insert(attr::CONTENT.into(), s(&h.content));
    item.insert(attr::OBJECT_KEY.into(), s(&h.object_key));
    if let Some(k) = &h.rejected_key {
        item.insert(attr::REJECTED_KEY.into(), s(k));
    }
    item.insert(attr::LEASE_UNTIL.into(), n(h.lease_until));
    item.insert(attr::RECEIVED_AT.into(), s(&received.rfc3339));
    item.insert(
        index::TTL.into(),
        n(received.epoch_secs() + i64::from(config.idempotency_ttl_days) * 86_400),
    );
    item
}

/// What an idempotency item holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The key's request was stored and answered; `content` is `None` on records
    /// written before contents were recorded.
    Answered {
        status: u16,
        body: String,
        content: Option<String>,
    },
    /// A request holds (or held) the key and has not answered.
    Claimed(Held),
}

/// Reads an idempotency item; `None` when it is not one this function wrote.
pub fn record_of(item: &Item) -> Option<Record> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let num = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    if let Some((status, body)) = stored_response(item) {
        return Some(Record::Answered {
            status,
            body,
            content: text(attr::CONTENT),
        });
    }
    Some(Record::Claimed(Held {
        key: text(attr::IDEMPOTENCY_KEY)?,
        holder: text(attr::REQUEST_ID)?,
        content: text(attr::CONTENT)?,
        object_key: text(attr::OBJECT_KEY)?,
        rejected_key: text(attr::REJECTED_KEY),
        received_millis: crate::timefmt::parse_rfc3339(&text(attr::RECEIVED_AT)?)?,
        lease_until: num(attr::LEASE_UNTIL)?,
    }))
}

/// A claim written before claims recorded their content and object keys (issue 18):
/// its holder and lease, with the rest from `fresh`, so that it can still be taken over
/// once its lease runs out.
pub fn legacy_claim(item: &Item, fresh: &Held) -> Option<Held> {
    if item.contains_key(attr::RESPONSE) || item.contains_key(attr::CONTENT) {
        return None;
    }
    Some(Held {
        holder: item.get(attr::REQUEST_ID)?.as_s().ok()?.clone(),
        lease_until: item.get(attr::LEASE_UNTIL)?.as_n().ok()?.parse().ok()?,
        ..fresh.clone()
    })
}

/// The stored first response of an idempotency record: (status, body).
pub fn stored_response(item: &Item) -> Option<(u16, String)> {
    let status = item.get(attr::STATUS)?.as_n().ok()?.parse().ok()?;
    let body = item.get(attr::RESPONSE)?.as_s().ok()?.clone();
    Some((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Stream;
    use pipewright_ingest_config::{CONFIG_VERSION, Partitioning};
    use std::collections::BTreeMap;

    fn config(lookups: Lookups, index_ttl_days: Option<u32>) -> IngestConfig {
        IngestConfig {
            version: CONFIG_VERSION,
            pipeline: "p".into(),
            environment: "dev".into(),
            partitioning: Partitioning::Hour,
            gzip_level: 6,
            max_device_ids: 2,
            index_ttl_days,
            idempotency_ttl_days: 3,
            lookups,
            sources: BTreeMap::new(),
        }
    }

    fn processed() -> Processed {
        Processed {
            total: 3,
            accepted: Stream {
                gz: vec![0; 40].into(),
                bytes: 120,
                lines: 2,
            },
            failures: vec![crate::batch::Failure {
                index: 1,
                errors: vec!["x".into()],
            }],
            min_event_time: Some(1_795_773_248_000),
            max_event_time: Some(1_795_773_249_000),
            device_ids: vec!["d1".into(), "d2".into()],
            device_count: 5,
            ..Processed::default()
        }
    }

    #[test]
    fn object_item_follows_the_contract() {
        let received = Received::from_millis(1_795_773_250_000);
        let p = processed();
        let st = Stored {
            source: "pos",
            schema_version: "1.2.0",
            object_key: "raw/pos/k.ndjson.gz",
            rejected_key: Some("rejected/pos/k.ndjson.gz"),
            request_id: "r1",
            idempotency_key: Some("key"),
            content: Some("c0ffee"),
            received: &received,
            processed: &p,
        };
        let all = Lookups {
            by_source_date: true,
            by_device: true,
            by_schema_version: true,
        };
        let item = object_item(&config(all, Some(30)), &st);
        let get = |k: &str| item.get(k).cloned();
        assert_eq!(get("pk"), Some(s("object#raw/pos/k.ndjson.gz")));
        assert_eq!(get("sk"), Some(s("object")));
        assert_eq!(get("event_count"), Some(n(2)));
        assert_eq!(get("rejected_count"), Some(n(1)));
        assert_eq!(get("bytes"), Some(n(120)));
        assert_eq!(get("stored_bytes"), Some(n(40)));
        assert_eq!(get("min_event_time"), Some(s("2026-11-27T09:54:08.000Z")));
        assert_eq!(
            get("device_ids"),
            Some(AttributeValue::L(vec![s("d1"), s("d2")]))
        );
        assert_eq!(get("device_count"), Some(n(5)));
        assert_eq!(get("source_date"), Some(s("pos#2026-11-27")));
        assert_eq!(get("source_schema"), Some(s("pos#1.2.0")));
        assert_eq!(get("received_at"), Some(s("2026-11-27T09:54:10.000Z")));
        assert_eq!(get("expires_at"), Some(n(1_795_773_250 + 30 * 86_400)));

        let none = object_item(&config(Lookups::default(), None), &st);
        for k in ["source_date", "source_schema", "expires_at"] {
            assert!(!none.contains_key(k), "{k}");
        }
        let dev = device_items(&config(all, None), &st, 1);
        assert_eq!(dev.len(), 1);
        assert_eq!(dev[0].get("sk"), Some(&s("device#d1")));
        assert_eq!(dev[0].get("device_id"), Some(&s("d1")));
        assert!(device_items(&config(Lookups::default(), None), &st, 10).is_empty());

        let idem = idempotency_item(&config(all, None), &st, "key", 207, "{\"a\":1}");
        assert_eq!(idem.get("pk"), Some(&s("idem#pos#key")));
        assert_eq!(idem.get("expires_at"), Some(&n(1_795_773_250 + 3 * 86_400)));
        assert_eq!(stored_response(&idem), Some((207, "{\"a\":1}".to_string())));

        assert_eq!(
            record_of(&idem),
            Some(Record::Answered {
                status: 207,
                body: "{\"a\":1}".into(),
                content: Some("c0ffee".into())
            })
        );
        let held = Held {
            key: "key".into(),
            holder: "r1".into(),
            content: "c0ffee".into(),
            object_key: "raw/pos/k.ndjson.gz".into(),
            rejected_key: None,
            received_millis: received.epoch_millis,
            lease_until: 42,
        };
        let claim = claim_item(&config(all, None), "pos", &held);
        assert_eq!(claim.get("pk"), idem.get("pk"));
        assert_eq!(claim.get("sk"), idem.get("sk"));
        assert_eq!(claim.get("request_id"), Some(&s("r1")));
        assert_eq!(claim.get("lease_until"), Some(&n(42)));
        assert_eq!(claim.get("expires_at"), idem.get("expires_at"));
        // A claim is not an answer, and reads back as itself.
        assert_eq!(stored_response(&claim), None);
        assert_eq!(record_of(&claim), Some(Record::Claimed(held)));
    }
}
