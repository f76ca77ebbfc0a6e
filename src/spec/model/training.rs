//! `ml.training`: a scheduled SageMaker pipeline that picks raw objects through the
//! index, trains a built-in algorithm on them and registers the model with its lineage.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A training pipeline: manifest step (the index) → training job → model registration.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Which raw objects a run trains on.
    pub inputs: TrainingInputs,
    /// A SageMaker built-in algorithm; its image is chosen per region and partition.
    pub algorithm: Algorithm,
    /// Training instance type, for example `ml.m5.xlarge`.
    #[serde(default = "default_instance_type")]
    #[schemars(example = &"ml.m5.xlarge")]
    pub instance_type: String,
    /// Training instances. Default: 1.
    #[serde(default = "default_instance_count")]
    #[schemars(range(min = 1, max = 100))]
    pub instance_count: u32,
    /// Largest training job runtime in seconds. Default: 3600.
    #[serde(default = "default_max_runtime")]
    #[schemars(range(min = 60, max = 432000))]
    pub max_runtime_seconds: u32,
    /// Training volume size in GB. Default: 30.
    #[serde(default = "default_volume")]
    #[schemars(range(min = 1, max = 16384))]
    pub volume_gb: u32,
    /// The algorithm's hyperparameters, passed as strings.
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, String>,
    /// When a run starts: `cron(...)` or `rate(...)` (EventBridge Scheduler).
    pub schedule: String,
    /// The approval status models are registered with. Default: `PendingManualApproval`.
    #[serde(default)]
    pub approval_status: ApprovalStatus,
}

/// The raw objects of a run: the index's objects of these sources, received in the
/// window before the run, with these schema versions.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingInputs {
    /// Sources whose raw objects are read (each must also be in `ml.sources`).
    #[schemars(length(min = 1))]
    pub sources: Vec<String>,
    /// How far back from the run's start, in days (1–366).
    #[schemars(range(min = 1, max = 366))]
    pub window_days: u32,
    /// Only objects of these schema versions (`1.0`, `2.1`); default: every version.
    /// Needs the `by_schema_version` lookup in `ml.index_lookups`.
    #[serde(default)]
    pub schema_versions: Vec<String>,
}

/// SageMaker built-in algorithms pipewright knows the images of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Random Cut Forest: unsupervised anomaly detection (reads CSV or RecordIO-protobuf).
    RandomCutForest,
    /// XGBoost 1.7-1: gradient-boosted trees.
    Xgboost,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RandomCutForest => "random_cut_forest",
            Algorithm::Xgboost => "xgboost",
        }
    }
}

/// A registered model's approval status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
pub enum ApprovalStatus {
    #[default]
    PendingManualApproval,
    Approved,
    Rejected,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::PendingManualApproval => "PendingManualApproval",
            ApprovalStatus::Approved => "Approved",
            ApprovalStatus::Rejected => "Rejected",
        }
    }
}

fn default_instance_type() -> String {
    "ml.m5.xlarge".into()
}
fn default_instance_count() -> u32 {
    1
}
fn default_max_runtime() -> u32 {
    3600
}
fn default_volume() -> u32 {
    30
}
