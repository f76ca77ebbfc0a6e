//! Security: permissions boundary, KMS key and outside readers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
