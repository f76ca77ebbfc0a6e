//! Environments: where a pipeline is deployed and what each overrides.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::*;

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
