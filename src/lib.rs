//! pipewright: a compiler from a declarative IoT pipeline spec to CloudFormation
//! stacks and least-privilege IAM. See ARCHITECTURE.md for the phases.

pub mod bundle;
pub mod cli;
#[cfg(feature = "aws")]
pub mod deploy;
pub mod diag;
pub mod emit;
pub mod fsio;
pub mod plan;
pub mod rules;
pub mod spec;
