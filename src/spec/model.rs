//! The spec language: the raw shape of `pipeline.yaml`, as serde + schemars types.
//!
//! These types only describe shape and defaults. They resolve nothing: references
//! between sections, environment overrides and derived names are the business of
//! `plan`. Every struct rejects unknown keys, and every default here is the secure one.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The current spec version. Older versions are migrated by [`crate::spec::migrate`].
pub const SPEC_VERSION: u32 = 1;

/// A pipewright pipeline: devices → API → ingest function → raw bucket + index →
/// transforms → curated datasets → catalog → Athena/QuickSight, and ML training access.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pipewright pipeline spec")]
pub struct Spec {
    /// Spec format version. Only `1` exists today.
    pub version: u32,
    /// Pipeline name: lower-case letters, digits and hyphens; the prefix of every
    /// resource name (with the environment appended).
    #[schemars(length(min = 3, max = 24), example = &"transit-payments")]
    pub name: String,
    /// What this pipeline is for (shown in stack descriptions and docs).
    #[serde(default)]
    pub description: Option<String>,
    /// Team that owns the pipeline; becomes the `Owner` tag on every resource.
    #[schemars(length(min = 1, max = 256))]
    pub owner: String,
    /// Cost centre; becomes the `CostCentre` tag on every resource.
    #[serde(default)]
    #[schemars(length(min = 1, max = 256))]
    pub cost_centre: Option<String>,
    /// Extra tags applied to every resource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Deployment targets (for example `dev` and `prod`): account, region and overrides.
    #[schemars(extend("minProperties" = 1))]
    pub environments: BTreeMap<String, Environment>,
    /// Device event sources: one HTTP route each.
    #[schemars(extend("minProperties" = 1))]
    pub sources: BTreeMap<String, Source>,
    /// The raw and transformed data zones.
    #[serde(default)]
    pub storage: Storage,
    /// The DynamoDB metadata index of ingested objects.
    #[serde(default)]
    pub index: Index,
    /// The ingest function's runtime settings.
    #[serde(default)]
    pub ingest: Ingest,
    /// Glue jobs that turn raw events into curated Parquet datasets.
    #[serde(default)]
    pub transforms: BTreeMap<String, Transform>,
    /// The Glue Data Catalog database and crawler over the curated datasets.
    #[serde(default)]
    pub catalog: Catalog,
    /// Athena and QuickSight.
    #[serde(default)]
    pub analytics: Option<Analytics>,
    /// SageMaker training access to raw data and the index.
    #[serde(default)]
    pub ml: Option<Ml>,
    /// Permissions boundary, KMS settings and extra principals.
    #[serde(default)]
    pub security: Security,
}

impl Spec {
    /// The raw zone's (retention days, archive-after days) in an environment. An
    /// environment that shortens retention below the inherited archive age drops the
    /// archive transition rather than contradicting itself.
    pub fn raw_lifecycle(&self, env: &Environment) -> (u32, Option<u32>) {
        let raw = &self.storage.raw;
        let retention = env.storage.raw_retention_days.unwrap_or(raw.retention_days);
        let archive = match env.storage.raw_archive_after_days {
            Some(a) => Some(a),
            None if env.storage.raw_retention_days.is_some() => {
                raw.archive_after_days.filter(|a| *a < retention)
            }
            None => raw.archive_after_days,
        };
        (retention, archive)
    }

    /// The Glue database of environment `env`: `catalog.database` (default: the
    /// pipeline name with `_` for `-`), then `_` and the environment.
    pub fn glue_database(&self, env: &str) -> String {
        let db = (self.catalog.database.clone()).unwrap_or_else(|| self.name.replace('-', "_"));
        format!("{db}_{env}")
    }

    /// The compliance postures of an environment (default: PCI-DSS).
    pub fn compliance(&self, env: &Environment) -> Vec<Compliance> {
        env.compliance
            .clone()
            .unwrap_or_else(|| vec![Compliance::PciDss])
    }
}

// ---------------------------------------------------------------------------------
// Environments
// ---------------------------------------------------------------------------------

/// One deployment target.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The 12-digit AWS account id (quote it in YAML, or it may lose leading zeros).
    #[schemars(example = &"123456789012")]
    pub account: String,
    /// The AWS region, for example `eu-west-2`. The partition (aws, aws-cn,
    /// aws-us-gov) follows from it.
    #[schemars(example = &"eu-west-2")]
    pub region: String,
    /// Keep buckets, the table and the key when a stack is deleted or a resource
    /// replaced (`DeletionPolicy: Retain`). Default: true.
    #[serde(default)]
    pub retain_data: Option<bool>,
    /// Where alarms are e-mailed (an SNS e-mail subscription).
    #[serde(default)]
    pub alarm_email: Option<String>,
    /// Compliance postures the stacks are built for. Default: `[pci-dss]`; an empty
    /// list opts out (with a warning).
    #[serde(default)]
    pub compliance: Option<Vec<Compliance>>,
    /// Region that raw and transformed data is replicated to (required by `pci-dss`).
    #[serde(default)]
    pub replica_region: Option<String>,
    /// The VPC that functions and jobs run in (when a compliance posture needs one).
    #[serde(default)]
    pub network: Network,
    /// Days CloudWatch log groups keep logs. Default: 365.
    #[serde(default)]
    #[schemars(range(min = 1, max = 3653))]
    pub log_retention_days: Option<u32>,
    /// Overrides of `storage` for this environment.
    #[serde(default)]
    pub storage: StorageOverride,
    /// Overrides of `index.ttl_days` for this environment.
    #[serde(default)]
    #[schemars(range(min = 1, max = 36500))]
    pub index_ttl_days: Option<u32>,
    /// Per-source overrides (throttling, quota).
    #[serde(default)]
    pub sources: BTreeMap<String, SourceOverride>,
    /// Per-transform overrides (workers, schedule).
    #[serde(default)]
    pub transforms: BTreeMap<String, TransformOverride>,
    /// Overrides of `ingest` for this environment.
    #[serde(default)]
    pub ingest: IngestOverride,
    /// Overrides of `security.permissions_boundary` for this environment.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Extra tags for this environment's resources.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A compliance posture.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum Compliance {
    /// PCI-DSS 3.2.1 (with AWS's Well-Architected, cfn_nag and NIST 800-53 rule packs).
    #[serde(rename = "pci-dss")]
    PciDss,
}

/// VPC settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The VPC's IPv4 CIDR block (a /16 to /24). Default: `10.0.0.0/16`.
    #[serde(default)]
    pub cidr: Option<String>,
    /// How many availability zones to spread private subnets over (2 or 3). Default: 2.
    #[serde(default)]
    #[schemars(range(min = 2, max = 3))]
    pub availability_zones: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StorageOverride {
    /// Days raw objects are kept.
    #[serde(default)]
    #[schemars(range(min = 1, max = 36500))]
    pub raw_retention_days: Option<u32>,
    /// Days before raw objects move to the archive storage class.
    #[serde(default)]
    #[schemars(range(min = 1, max = 36500))]
    pub raw_archive_after_days: Option<u32>,
    /// Days curated objects are kept.
    #[serde(default)]
    #[schemars(range(min = 1, max = 36500))]
    pub transformed_retention_days: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SourceOverride {
    /// This environment's authentication for the source (say `api_key` for a test rig).
    #[serde(default)]
    pub auth: Option<Auth>,
    #[serde(default)]
    pub throttle: Option<Throttle>,
    #[serde(default)]
    pub quota: Option<Quota>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TransformOverride {
    #[serde(default)]
    pub workers: Option<Workers>,
    #[serde(default)]
    pub schedule: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct IngestOverride {
    #[serde(default)]
    #[schemars(range(min = 128, max = 10240))]
    pub memory_mb: Option<u32>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub reserved_concurrency: Option<u32>,
}

// ---------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------
// Transforms, catalog, analytics, ML
// ---------------------------------------------------------------------------------

/// A Glue job: raw events of some sources → one curated Parquet dataset.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    #[serde(default)]
    pub description: Option<String>,
    /// Source names whose raw events this transform reads.
    #[schemars(length(min = 1))]
    pub inputs: Vec<String>,
    /// The output dataset (Glue table and `curated/<dataset>/` prefix). Default: the
    /// transform's name.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Output columns, each taken from an event field.
    #[schemars(length(min = 1))]
    pub columns: Vec<Column>,
    /// Partition columns: output column names, or `event_date`, `event_hour`,
    /// `ingest_date` (derived).
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// When it runs on a schedule: `cron(...)` or `rate(...)`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Run after these transforms succeed (instead of a schedule).
    #[serde(default)]
    pub after: Vec<String>,
    /// Start the job from the ingest function after each write (instead of a schedule).
    #[serde(default)]
    pub on_ingest: bool,
    /// Glue workers. Default: 2 × `G.1X`.
    #[serde(default)]
    pub workers: Workers,
    /// Minutes before the run is stopped (1–2880). Default: 60.
    #[serde(default = "default_job_timeout")]
    pub timeout_minutes: u32,
    /// Retries after a failed run (0–10). Default: 0.
    #[serde(default)]
    pub max_retries: u32,
}

fn default_job_timeout() -> u32 {
    60
}

/// An output column.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Column name (lower-case letters, digits, `_`).
    pub name: String,
    /// Dotted path of the event field. Default: the column name.
    #[serde(default)]
    pub from: Option<String>,
    /// Override of the type derived from the event schema, for example `decimal(12,2)`.
    #[serde(default, rename = "type")]
    pub ty: Option<String>,
}

/// Glue worker type and count.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workers {
    /// Worker type. Default: `G.1X`.
    #[serde(default, rename = "type")]
    pub ty: WorkerType,
    /// Number of workers (2–299). Default: 2.
    #[serde(default = "default_workers")]
    pub count: u32,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            ty: WorkerType::default(),
            count: default_workers(),
        }
    }
}

fn default_workers() -> u32 {
    2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
pub enum WorkerType {
    #[serde(rename = "G.025X")]
    G025X,
    #[default]
    #[serde(rename = "G.1X")]
    G1X,
    #[serde(rename = "G.2X")]
    G2X,
    #[serde(rename = "G.4X")]
    G4X,
    #[serde(rename = "G.8X")]
    G8X,
}

impl WorkerType {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerType::G025X => "G.025X",
            WorkerType::G1X => "G.1X",
            WorkerType::G2X => "G.2X",
            WorkerType::G4X => "G.4X",
            WorkerType::G8X => "G.8X",
        }
    }

    /// DPUs per worker (for costing).
    pub fn dpu(self) -> f64 {
        match self {
            WorkerType::G025X => 0.25,
            WorkerType::G1X => 1.0,
            WorkerType::G2X => 2.0,
            WorkerType::G4X => 4.0,
            WorkerType::G8X => 8.0,
        }
    }
}

/// The Glue Data Catalog.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The Glue database's name before the environment: each environment's database is
    /// `<database>_<environment>` (environments may share an account and a catalog), as
    /// `check` prints. Default: the pipeline name with `_` for `-`.
    #[serde(default)]
    pub database: Option<String>,
    /// The crawler over the curated datasets.
    #[serde(default)]
    pub crawler: Crawler,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Crawler {
    /// A schedule (`cron(...)`); default: run after each transform succeeds.
    #[serde(default)]
    pub schedule: Option<String>,
    /// What the crawler does when a column is added or changes. Default: `update`.
    #[serde(default)]
    pub on_change: UpdateBehavior,
    /// What it does when a table or partition disappears. Default: `deprecate`.
    #[serde(default)]
    pub on_delete: DeleteBehavior,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum UpdateBehavior {
    #[default]
    Update,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeleteBehavior {
    #[default]
    Deprecate,
    Log,
    Delete,
}

/// Athena and QuickSight.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Analytics {
    #[serde(default)]
    pub athena: Athena,
    #[serde(default)]
    pub quicksight: Option<QuickSight>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Athena {
    /// Workgroup name. Default: the pipeline name and environment.
    #[serde(default)]
    pub workgroup: Option<String>,
    /// Largest scan a query may do, in MB (at least 10). Default: 10240.
    #[serde(default = "default_cutoff")]
    pub bytes_scanned_cutoff_mb: u64,
    /// Days query results are kept. Default: 30.
    #[serde(default = "default_results_days")]
    #[schemars(range(min = 1, max = 36500))]
    pub results_retention_days: u32,
}

impl Default for Athena {
    fn default() -> Self {
        Athena {
            workgroup: None,
            bytes_scanned_cutoff_mb: default_cutoff(),
            results_retention_days: default_results_days(),
        }
    }
}

fn default_cutoff() -> u64 {
    10240
}
fn default_results_days() -> u32 {
    30
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickSight {
    /// Who sees which datasets.
    #[schemars(length(min = 1))]
    pub principals: Vec<QuickSightPrincipal>,
    /// Refresh the index export (for the `index` dataset) on this schedule. Default:
    /// `rate(1 day)`.
    #[serde(default)]
    pub index_export_schedule: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickSightPrincipal {
    /// `user/<namespace>/<name>`, `group/<namespace>/<name>`, or a full QuickSight ARN.
    #[schemars(example = &"group/default/payments-analysts")]
    pub principal: String,
    /// Dataset names (transform datasets, or `index` for the metadata index).
    #[schemars(length(min = 1))]
    pub datasets: Vec<String>,
}

/// SageMaker training access.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ml {
    /// Sources whose raw events training jobs may read.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Curated datasets training jobs may read.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// Index lookups training jobs may query to pick datasets.
    #[serde(default)]
    pub index_lookups: Vec<Lookup>,
    /// The model package group trained models are registered in.
    pub model_package_group: String,
}

// ---------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// ARN of a permissions boundary attached to every generated role. `{account}`,
    /// `{region}` and `{partition}` are replaced per environment.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// The customer-managed KMS key.
    #[serde(default)]
    pub kms: Kms,
    /// Principals outside the pipeline that may read some of its data.
    #[serde(default)]
    pub readers: Vec<Reader>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kms {
    /// Days between automatic key rotations (90–2560). Default: 365.
    #[serde(default = "default_rotation")]
    pub rotation_days: u32,
    /// Days a deleted key waits before it is destroyed (7–30). Default: 30.
    #[serde(default = "default_deletion_window")]
    pub deletion_window_days: u32,
    /// IAM principals that administer the key (not use it). Default: the account's root.
    #[serde(default)]
    pub admins: Vec<String>,
}

impl Default for Kms {
    fn default() -> Self {
        Kms {
            rotation_days: default_rotation(),
            deletion_window_days: default_deletion_window(),
            admins: Vec::new(),
        }
    }
}

fn default_rotation() -> u32 {
    365
}
fn default_deletion_window() -> u32 {
    30
}

/// A principal outside the pipeline granted read access to some data.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reader {
    /// An IAM role ARN (`{account}`, `{partition}` placeholders allowed).
    pub principal: String,
    /// Sources whose raw events it may read.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Curated datasets it may read.
    #[serde(default)]
    pub datasets: Vec<String>,
}
