//! The spec language: the raw shape of `pipeline.yaml`, as serde + schemars types.
//!
//! These types only describe shape and defaults. They resolve nothing: references
//! between sections, environment overrides and derived names are the business of
//! `plan`. Every struct rejects unknown keys, and every default here is the secure one.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod consumers;
mod dashboards;
mod environments;
mod security;
mod sources;
mod training;
mod transforms;

pub use consumers::*;
pub use dashboards::*;
pub use environments::*;
pub use security::*;
pub use sources::*;
pub use training::*;
pub use transforms::*;

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
