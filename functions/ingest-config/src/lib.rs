//! The contract between `pipewright synth` (which writes it) and the ingest function
//! (which reads it): the bundled config file, the environment variables, and the
//! layout of raw objects and index items. Both sides depend on this crate, so a
//! change here is a change to both, made once.
//!
//! This crate holds data definitions and pure helpers only: no I/O, no AWS.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// This crate's own files. pipewright writes the ingest function's workspace (which
/// builds this crate too) from what it carries, so that `pipewright bundle` works in
/// any folder (pipewright's src/bundle/source.rs).
pub mod source {
    /// `Cargo.toml` (as packaged, when this crate comes from a registry).
    pub const MANIFEST: &str = include_str!("../Cargo.toml");
    /// `src/lib.rs`, this file.
    pub const LIB: &str = include_str!("lib.rs");
}

/// Version of [`IngestConfig`]. Bump on any incompatible change; the function
/// refuses a config whose version it does not know.
pub const CONFIG_VERSION: u32 = 1;

/// Name of the config file inside the function's zip (next to `bootstrap`).
pub const CONFIG_FILE: &str = "pipewright-ingest.json";

/// Environment variables set on the function by synth. Names only: everything
/// larger (schemas) is in the bundled config file, because Lambda allows 4 KB of
/// environment variables in total.
pub mod env {
    /// Raw bucket name.
    pub const RAW_BUCKET: &str = "PIPEWRIGHT_RAW_BUCKET";
    /// DynamoDB index table name.
    pub const INDEX_TABLE: &str = "PIPEWRIGHT_INDEX_TABLE";
    /// KMS key ARN for SSE-KMS on raw objects (optional: the bucket default applies).
    pub const KMS_KEY_ARN: &str = "PIPEWRIGHT_KMS_KEY_ARN";
    /// Path of the config file (optional; default: next to the executable).
    pub const CONFIG_PATH: &str = "PIPEWRIGHT_CONFIG";
}

/// The bundled configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Must equal [`CONFIG_VERSION`].
    pub version: u32,
    pub pipeline: String,
    pub environment: String,
    /// Time partitioning of raw object keys.
    pub partitioning: Partitioning,
    /// gzip level of raw objects (1–9).
    pub gzip_level: u32,
    /// Most device ids recorded on an index item.
    pub max_device_ids: u32,
    /// Days before index items expire (DynamoDB TTL); `None`: never.
    pub index_ttl_days: Option<u32>,
    /// Days idempotency records are kept (a retry after this is a new request).
    pub idempotency_ttl_days: u32,
    /// Which lookups the index has (what attributes and pointer items to write).
    pub lookups: Lookups,
    /// Sources by name.
    pub sources: BTreeMap<String, SourceConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    Hour,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookups {
    pub by_source_date: bool,
    pub by_device: bool,
    pub by_schema_version: bool,
}

/// One source, as the function needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The API route (`/v1/pos/sales`), matched against the proxy event's resource path.
    pub route: String,
    /// The event schema's version (`MAJOR.MINOR.PATCH`).
    pub schema_version: String,
    /// The event schema (JSON Schema).
    pub schema: Value,
    /// Largest accepted body in bytes, after decompression.
    pub max_body_bytes: u32,
    /// Most events per request.
    pub max_events: u32,
    /// Dotted path of the event id field, if any.
    pub id_field: Option<String>,
    /// Dotted path of the event time field (RFC 3339), if any.
    pub time_field: Option<String>,
    /// Dotted path of the device id field, if any.
    pub device_field: Option<String>,
    /// Glue jobs to start after a successful write.
    pub start_jobs: Vec<String>,
}

impl IngestConfig {
    /// Parses and checks the version.
    pub fn from_json(bytes: &[u8]) -> Result<IngestConfig, String> {
        let c: IngestConfig =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid ingest config: {e}"))?;
        if c.version != CONFIG_VERSION {
            return Err(format!(
                "ingest config version {} is not supported (this function reads version {CONFIG_VERSION})",
                c.version
            ));
        }
        Ok(c)
    }

    /// Canonical JSON (sorted keys, two-space indent, trailing newline): what synth
    /// writes and bundles, so the zip's hash depends on content only.
    pub fn to_canonical_json(&self) -> String {
        let v = serde_json::to_value(self).expect("config serialises");
        let mut s = serde_json::to_string_pretty(&v).expect("value serialises");
        s.push('\n');
        s
    }

    /// The source whose route matches `path` (trailing slash ignored).
    pub fn source_for_route(&self, path: &str) -> Option<(&str, &SourceConfig)> {
        let p = path.trim_end_matches('/');
        self.sources
            .iter()
            .find(|(_, s)| s.route.trim_end_matches('/') == p)
            .map(|(n, s)| (n.as_str(), s))
    }
}

/// Object key layout in the raw bucket.
pub mod layout {
    use super::Partitioning;

    /// Prefix of accepted events of a source: `raw/<source>/`.
    pub fn raw_prefix(source: &str) -> String {
        format!("raw/{source}/")
    }

    /// Prefix of rejected events (and unparseable bodies) of a source: `rejected/<source>/`.
    pub fn rejected_prefix(source: &str) -> String {
        format!("rejected/{source}/")
    }

    /// `dt=YYYY-MM-DD/hour=HH/` (or `dt=YYYY-MM-DD/`) for a UTC date and hour.
    pub fn partition(p: Partitioning, date: &str, hour: u32) -> String {
        match p {
            Partitioning::Hour => format!("dt={date}/hour={hour:02}/"),
            Partitioning::Day => format!("dt={date}/"),
        }
    }

    /// The full key of an accepted-events object.
    pub fn raw_key(
        source: &str,
        p: Partitioning,
        date: &str,
        hour: u32,
        request_id: &str,
    ) -> String {
        format!(
            "{}{}{request_id}.ndjson.gz",
            raw_prefix(source),
            partition(p, date, hour)
        )
    }

    /// The full key of a rejected-events object.
    pub fn rejected_key(
        source: &str,
        p: Partitioning,
        date: &str,
        hour: u32,
        request_id: &str,
    ) -> String {
        format!(
            "{}{}{request_id}.ndjson.gz",
            rejected_prefix(source),
            partition(p, date, hour)
        )
    }
}

/// The metadata index: key schema, item kinds, attribute names and GSIs. synth builds
/// the table from these; the function writes items with them.
pub mod index {
    /// Partition key attribute (string).
    pub const PK: &str = "pk";
    /// Sort key attribute (string).
    pub const SK: &str = "sk";
    /// TTL attribute (epoch seconds).
    pub const TTL: &str = "expires_at";

    /// Item of an ingested object: `pk = object#<key>`, `sk = object`.
    pub fn object_pk(object_key: &str) -> String {
        format!("object#{object_key}")
    }
    pub const OBJECT_SK: &str = "object";
    /// Pointer from a device to an object (for the `by_device` lookup):
    /// `pk = object#<key>`, `sk = device#<device id>`.
    pub fn device_sk(device_id: &str) -> String {
        format!("device#{device_id}")
    }
    /// Idempotency record: `pk = idem#<source>#<key>`, `sk = idem`.
    pub fn idempotency_pk(source: &str, key: &str) -> String {
        format!("idem#{source}#{key}")
    }
    pub const IDEMPOTENCY_SK: &str = "idem";

    /// Attributes of object items.
    pub mod attr {
        pub const KIND: &str = "kind";
        pub const OBJECT_KEY: &str = "object_key";
        pub const SOURCE: &str = "source";
        pub const SCHEMA_VERSION: &str = "schema_version";
        pub const EVENT_COUNT: &str = "event_count";
        pub const REJECTED_COUNT: &str = "rejected_count";
        pub const REJECTED_KEY: &str = "rejected_key";
        /// Uncompressed NDJSON bytes.
        pub const BYTES: &str = "bytes";
        /// Stored (gzip) bytes.
        pub const STORED_BYTES: &str = "stored_bytes";
        pub const MIN_EVENT_TIME: &str = "min_event_time";
        pub const MAX_EVENT_TIME: &str = "max_event_time";
        /// Up to `max_device_ids` distinct device ids (a list of strings).
        pub const DEVICE_IDS: &str = "device_ids";
        /// Number of distinct device ids (even when more than were recorded).
        pub const DEVICE_COUNT: &str = "device_count";
        pub const REQUEST_ID: &str = "request_id";
        pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
        /// RFC 3339 UTC receive time.
        pub const RECEIVED_AT: &str = "received_at";
        /// `<source>#<YYYY-MM-DD>` (GSI `by_source_date` partition key).
        pub const SOURCE_DATE: &str = "source_date";
        /// `<source>#<schema version>` (GSI `by_schema_version` partition key).
        pub const SOURCE_SCHEMA: &str = "source_schema";
        /// Device id on pointer items (GSI `by_device` partition key).
        pub const DEVICE_ID: &str = "device_id";
        /// The first response, on idempotency records (JSON text).
        pub const RESPONSE: &str = "response";
        /// Epoch seconds until which an unanswered idempotency record (a claim) holds
        /// its key for the request that put it.
        pub const LEASE_UNTIL: &str = "lease_until";
        /// On idempotency records and claims: the SHA-256 (hex) of the accepted
        /// content the key names (`Processed::content` in the function), so that a key
        /// reused for other events is refused instead of replayed.
        pub const CONTENT: &str = "content_sha256";
        pub const STATUS: &str = "status";
    }

    /// A global secondary index: name, partition key, sort key (all strings).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Gsi {
        pub name: &'static str,
        pub pk: &'static str,
        pub sk: &'static str,
    }

    pub const BY_SOURCE_DATE: Gsi = Gsi {
        name: "by_source_date",
        pk: attr::SOURCE_DATE,
        sk: attr::RECEIVED_AT,
    };
    pub const BY_DEVICE: Gsi = Gsi {
        name: "by_device",
        pk: attr::DEVICE_ID,
        sk: attr::RECEIVED_AT,
    };
    pub const BY_SCHEMA_VERSION: Gsi = Gsi {
        name: "by_schema_version",
        pk: attr::SOURCE_SCHEMA,
        sk: attr::RECEIVED_AT,
    };
}

/// Looks up a dotted path (`store.id`) in a JSON object.
pub fn get_path<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout() {
        assert_eq!(
            layout::raw_key("pos", Partitioning::Hour, "2026-11-27", 7, "abc"),
            "raw/pos/dt=2026-11-27/hour=07/abc.ndjson.gz"
        );
        assert_eq!(
            layout::rejected_key("pos", Partitioning::Day, "2026-11-27", 7, "abc"),
            "rejected/pos/dt=2026-11-27/abc.ndjson.gz"
        );
    }

    #[test]
    fn version_is_checked() {
        let c = IngestConfig {
            version: CONFIG_VERSION + 1,
            pipeline: "p".into(),
            environment: "dev".into(),
            partitioning: Partitioning::Hour,
            gzip_level: 6,
            max_device_ids: 10,
            index_ttl_days: None,
            idempotency_ttl_days: 7,
            lookups: Lookups::default(),
            sources: BTreeMap::new(),
        };
        let err = IngestConfig::from_json(c.to_canonical_json().as_bytes()).unwrap_err();
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn dotted_paths() {
        let v: Value = serde_json::json!({"a": {"b": 3}});
        assert_eq!(get_path(&v, "a.b"), Some(&Value::from(3)));
        assert_eq!(get_path(&v, "a.c"), None);
    }
}
