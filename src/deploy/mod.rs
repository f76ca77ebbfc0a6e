//! Phase 6, deploy: synthesised stacks → running infrastructure through the
//! CloudFormation API. The only module that links the AWS SDK (feature `aws`).
//!
//! - `logic`: pure decisions (order, stack states, change classification, refusals,
//!   approval, root cause), unit-tested.
//! - `cfn`: one function per CloudFormation call.
//! - `engine`: the state of one run (stacks, parameters, clients, outputs so far);
//!   `aws`: the clients, the account check, prefix-list lookups; `units`: the stacks
//!   read from synth's output; `artifacts`: uploads to the artifacts bucket.
//! - `errors`: SDK errors in words (service code and message, unreachable endpoints).
//! - `stack` deploys one stack, directly or (`change_set`) through a change set.
//! - the commands: `order` (`deploy`), `destroy`, `diff`, `outputs`; `report` renders
//!   progress.

mod artifacts;
mod aws;
pub mod cfn;
mod change_set;
mod destroy;
mod diff;
mod engine;
pub mod errors;
pub mod logic;
mod order;
mod outputs;
mod report;
mod stack;
mod units;

use std::path::PathBuf;
use std::time::Duration;

use logic::Approval;

pub use destroy::destroy;
pub use diff::diff;
pub use order::deploy;
pub use outputs::outputs;
pub use report::{Reporter, Style};
pub use units::{moto_compat, units};

/// How stacks are created and updated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Method {
    ChangeSet,
    Direct,
}

/// Everything `deploy`, `diff` and `destroy` take besides the plan.
#[derive(Debug, Clone)]
pub struct Options {
    pub method: Method,
    pub approval: Approval,
    pub approval_name: String,
    pub concurrency: usize,
    pub allow_replace: Vec<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub yes: bool,
    pub outputs_file: Option<PathBuf>,
    /// A prebuilt ingest zip; otherwise the function is bundled with cargo-lambda.
    pub lambda_zip: Option<PathBuf>,
    pub build_dir: PathBuf,
    pub poll: Duration,
    pub timeout: Duration,
    /// Rewrites for the moto emulator (see [`moto_compat`]).
    pub moto_compat: bool,
    pub style: Style,
    /// `-q`: in human mode, no progress, events or notes; results and errors only.
    pub quiet: bool,
}

/// How a refusal to lose data starts.
const REFUSED: &str = "refused before anything ran";

/// The result of one stack's deploy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Updated,
    NoChange,
    Deleted,
    Absent,
    Failed,
    Refused,
    Skipped,
}

#[cfg(test)]
mod tests;
