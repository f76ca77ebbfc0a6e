//! Consumers of the curated data: Athena, QuickSight and SageMaker.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::*;

/// Athena and QuickSight.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Analytics {
    #[serde(default)]
    pub athena: Athena,
    #[serde(default)]
    pub quicksight: Option<QuickSight>,
    /// Dashboards by name, each for an audience of QuickSight principals.
    #[serde(default)]
    pub dashboards: Dashboards,
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
    /// A scheduled training pipeline over raw objects the index picks.
    #[serde(default)]
    pub training: Option<Training>,
}
