//! pipewright: a compiler from a declarative IoT pipeline spec to CloudFormation
//! stacks and least-privilege IAM. See ARCHITECTURE.md for the phases.

pub mod aws;
pub mod bundle;
pub mod cli;
pub mod cost;
#[cfg(feature = "aws")]
pub mod deploy;
pub mod diag;
pub mod docs;
pub mod emit;
pub mod fsio;
pub mod graph;
pub mod plan;
pub mod review;
pub mod rules;
pub mod spec;
