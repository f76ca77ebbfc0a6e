//! Transforms (Glue jobs) and the Data Catalog.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Glue job: raw events of some sources → one curated Parquet dataset.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    #[serde(default)]
    pub description: Option<String>,
    /// Source names whose raw events this transform reads; a transform with `sql` may
    /// also read datasets other transforms write.
    #[schemars(length(min = 1))]
    pub inputs: Vec<String>,
    /// The output dataset (Glue table and `curated/<dataset>/` prefix). Default: the
    /// transform's name.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Output columns, each taken from an event field. Exactly one of `columns` and `sql`.
    #[serde(default)]
    pub columns: Vec<Column>,
    /// A Spark SQL query over the inputs, each a relation named as in `inputs` (a
    /// source: its event fields plus `event_date`, `event_hour`, `ingest_date`; a
    /// dataset: its columns). Inner and left joins, `GROUP BY` with aggregates, window
    /// functions and Spark's date/time functions. Its result columns are the dataset's;
    /// it must output `event_date` and be partitioned by it (each run recomputes the
    /// dates new events touch). Exactly one of `columns` and `sql`.
    #[serde(default)]
    pub sql: Option<String>,
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
