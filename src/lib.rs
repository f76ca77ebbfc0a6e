//! pipewright: a compiler from a declarative IoT pipeline spec to CloudFormation
//! stacks and least-privilege IAM. See ARCHITECTURE.md for the phases.

pub mod diag;
pub mod rules;
pub mod spec;
