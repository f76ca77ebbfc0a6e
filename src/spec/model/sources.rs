//! Sources, storage, the metadata index and the ingest function.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::*;

/// A class of devices that POST events to one route.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default)]
    pub description: Option<String>,
    /// The HTTP route devices POST to, for example `/v1/pos/sales`.
    #[schemars(example = &"/v1/pos/sales")]
    pub route: String,
    /// How devices authenticate. Default: `api_key` (with a usage plan).
    #[serde(default)]
    pub auth: Auth,
    /// Steady-state and burst request limits for this route.
    #[serde(default)]
    pub throttle: Throttle,
    /// Request quota per API key (only with `auth: api_key`).
    #[serde(default)]
    pub quota: Option<Quota>,
    /// Largest accepted request.
    #[serde(default)]
    pub limits: Limits,
    /// Which event fields carry the id, time and device.
    #[serde(default)]
    pub fields: EventFields,
    /// The JSON Schema every event must satisfy.
    pub schema: EventSchema,
}

/// How devices authenticate to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// AWS SigV4 (IAM) signatures authenticate each request, and an API key per source
    /// meters it through a usage plan (throttle + quota). The default, and the only
    /// choice in a `pci-dss` environment: a key identifies a caller, a signature proves it.
    #[default]
    IamAndApiKey,
    /// An API key per source, with a usage plan (throttle + quota); no authentication.
    ApiKey,
    /// AWS SigV4 (IAM) authentication, without a usage plan.
    Iam,
    /// No authentication (warned about by `check`).
    None,
}

impl Auth {
    /// Callers carry an API key: the route has a usage plan.
    pub fn keyed(self) -> bool {
        matches!(self, Auth::IamAndApiKey | Auth::ApiKey)
    }

    /// Callers sign their requests (API Gateway `AWS_IAM`).
    pub fn signed(self) -> bool {
        matches!(self, Auth::IamAndApiKey | Auth::Iam)
    }

    /// The spec's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::IamAndApiKey => "iam_and_api_key",
            Auth::ApiKey => "api_key",
            Auth::Iam => "iam",
            Auth::None => "none",
        }
    }
}

/// Request-rate limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Requests per second, steady state. Default: 100.
    #[serde(default = "default_rate")]
    pub rate_limit: f64,
    /// Requests allowed in a burst. Default: 200.
    #[serde(default = "default_burst")]
    pub burst_limit: u32,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            rate_limit: default_rate(),
            burst_limit: default_burst(),
        }
    }
}

fn default_rate() -> f64 {
    100.0
}
fn default_burst() -> u32 {
    200
}

/// A usage-plan quota.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests allowed per period.
    #[schemars(range(min = 1))]
    pub limit: u32,
    /// The period: `day`, `week` or `month`.
    pub period: QuotaPeriod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

/// Request size limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body in bytes (after decompression). Default: 1 MiB; at most 5 MiB
    /// (Lambda's 6 MB synchronous payload limit, with room for the envelope).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u32,
    /// Most events in one request. Default: 5000.
    #[serde(default = "default_max_events")]
    pub max_events: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: default_max_body(),
            max_events: default_max_events(),
        }
    }
}

fn default_max_body() -> u32 {
    1024 * 1024
}
fn default_max_events() -> u32 {
    5000
}

/// Dotted paths of well-known event fields.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EventFields {
    /// The device-supplied event id (used for de-duplication and idempotency).
    #[serde(default)]
    pub id: Option<String>,
    /// When the event happened (RFC 3339 string).
    #[serde(default)]
    pub time: Option<String>,
    /// The device that sent the event.
    #[serde(default)]
    pub device: Option<String>,
}

/// A versioned JSON Schema for a source's events: inline, or in a file next to the spec.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSchema {
    /// Semantic version of the schema (`MAJOR.MINOR.PATCH`). A breaking change needs a
    /// new major version.
    #[schemars(example = &"1.0.0")]
    pub version: String,
    /// A path (relative to the spec) to a JSON or YAML file holding the schema.
    #[serde(default)]
    pub file: Option<String>,
    /// The schema itself.
    #[serde(default)]
    pub inline: Option<Value>,
}

// ---------------------------------------------------------------------------------
// Storage and index
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The raw zone: every accepted event, as received, kept for compliance and ML.
    #[serde(default)]
    pub raw: RawZone,
    /// The transformed zone: curated Parquet datasets.
    #[serde(default)]
    pub transformed: TransformedZone,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    /// Days raw objects are kept before they expire. Default: 2557 (seven years).
    #[serde(default = "default_raw_retention")]
    #[schemars(range(min = 1, max = 36500))]
    pub retention_days: u32,
    /// Days before raw objects move to `archive_class`. Default: 90.
    #[serde(default = "default_archive_after")]
    #[schemars(range(min = 1, max = 36500))]
    pub archive_after_days: Option<u32>,
    /// The archive storage class. Default: `GLACIER_IR` (still readable by jobs and ML).
    #[serde(default)]
    pub archive_class: ArchiveClass,
    /// Time partitioning of raw object keys under `raw/<source>/`. Default: `hour`.
    #[serde(default)]
    pub partitioning: Partitioning,
}

impl Default for RawZone {
    fn default() -> Self {
        RawZone {
            retention_days: default_raw_retention(),
            archive_after_days: default_archive_after(),
            archive_class: ArchiveClass::default(),
            partitioning: Partitioning::default(),
        }
    }
}

fn default_raw_retention() -> u32 {
    2557
}
fn default_archive_after() -> Option<u32> {
    Some(90)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
pub enum ArchiveClass {
    #[default]
    #[serde(rename = "GLACIER_IR")]
    GlacierIr,
    #[serde(rename = "GLACIER")]
    Glacier,
    #[serde(rename = "DEEP_ARCHIVE")]
    DeepArchive,
    #[serde(rename = "STANDARD_IA")]
    StandardIa,
}

impl ArchiveClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveClass::GlacierIr => "GLACIER_IR",
            ArchiveClass::Glacier => "GLACIER",
            ArchiveClass::DeepArchive => "DEEP_ARCHIVE",
            ArchiveClass::StandardIa => "STANDARD_IA",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// `raw/<source>/dt=YYYY-MM-DD/hour=HH/…`
    #[default]
    Hour,
    /// `raw/<source>/dt=YYYY-MM-DD/…`
    Day,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TransformedZone {
    /// Only `parquet` is supported.
    #[serde(default)]
    pub format: DataFormat,
    /// Parquet compression codec. Default: `snappy`.
    #[serde(default)]
    pub compression: Compression,
    /// Days curated objects are kept. Default: kept until deleted.
    #[serde(default)]
    #[schemars(range(min = 1, max = 36500))]
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    #[default]
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    Snappy,
    Zstd,
    Gzip,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Snappy => "snappy",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

/// The metadata index: one item per ingested object.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Days an index item lives (DynamoDB TTL). Default: the raw retention period.
    #[serde(default)]
    #[schemars(range(min = 1, max = 36500))]
    pub ttl_days: Option<u32>,
    /// Most device ids recorded per object. Default: 50.
    #[serde(default = "default_max_devices")]
    #[schemars(range(min = 0, max = 90))]
    pub max_device_ids: u32,
    /// The lookups the index supports, each a global secondary index.
    #[serde(default = "default_lookups")]
    pub lookups: Vec<Lookup>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            ttl_days: None,
            max_device_ids: default_max_devices(),
            lookups: default_lookups(),
        }
    }
}

fn default_max_devices() -> u32 {
    50
}
fn default_lookups() -> Vec<Lookup> {
    vec![Lookup::BySourceDate, Lookup::ByDevice]
}

/// A way to find ingested objects in the index.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// Objects of a source on a date, ordered by receive time.
    BySourceDate,
    /// Objects holding events of a device, ordered by receive time.
    ByDevice,
    /// Objects of a source with a schema version, ordered by receive time.
    BySchemaVersion,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::BySourceDate => "by_source_date",
            Lookup::ByDevice => "by_device",
            Lookup::BySchemaVersion => "by_schema_version",
        }
    }
}

/// The ingest function.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ingest {
    /// Memory in MB (128–10240). Default: 512.
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    /// Timeout in seconds (1–29: API Gateway waits at most 29 s). Default: 29.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    /// CPU architecture. Default: `x86_64`.
    #[serde(default)]
    pub architecture: Architecture,
    /// Concurrency reserved for (and limiting) the function. Default: 50.
    #[serde(default = "default_reserved")]
    pub reserved_concurrency: Option<u32>,
    /// gzip level for raw objects (1–9). Default: 5 (chosen by benches/README.md).
    #[serde(default = "default_gzip")]
    pub gzip_level: u32,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest {
            memory_mb: default_memory(),
            timeout_seconds: default_timeout(),
            architecture: Architecture::default(),
            reserved_concurrency: default_reserved(),
            gzip_level: default_gzip(),
        }
    }
}

fn default_memory() -> u32 {
    512
}
fn default_timeout() -> u32 {
    29
}
fn default_reserved() -> Option<u32> {
    Some(50)
}
fn default_gzip() -> u32 {
    5
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    #[default]
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}
