//! What `synth` would refuse in one environment of a valid spec, located in the spec:
//! lowering's and emit's errors (CloudFormation's quotas, PW0301) and the resource
//! types the region lacks (PW0231). `check` reports exactly these, so a spec it accepts
//! synthesises (tests/contract.rs proves it on generated specs). Not the spec's own
//! validation (`spec::validate`), which runs before.

use crate::diag::{Diagnostic, Location, Span};
use crate::spec::{self, Validated};

/// Every refusal of `synth` for environment `env`, with nothing dropped.
pub fn refusals(v: &Validated, env: &str) -> Vec<Diagnostic> {
    let at = |keys: &[&str]| v.doc.key_span_of(&spec::path(keys));
    let plan = match crate::plan::lower(v, env) {
        Ok(p) => p,
        Err(diags) => return locate(diags, at(&["environments", env])),
    };
    let out = match super::synth(&plan) {
        Ok(o) => o,
        // Quotas: the sources and transforms are what makes stacks grow.
        Err(diags) => return locate(diags, at(&["sources"])),
    };
    let missing = super::availability::unavailable(&plan, &out);
    missing
        .iter()
        .zip(super::availability::diagnostics(&plan, &missing))
        .map(|(u, d)| {
            let keys: Vec<&str> = u.section.split('.').collect();
            let span =
                at(&keys).or_else(|| v.doc.span_of(&spec::path(&["environments", env, "region"])));
            d.at_opt(span)
        })
        .collect()
}

/// Diagnostics of a later phase, each placed at `at` unless it has a place of its own.
fn locate(diags: crate::diag::Diagnostics, at: Option<Span>) -> Vec<Diagnostic> {
    diags
        .into_vec()
        .into_iter()
        .map(|d| match d.location {
            Location::None => d.at_opt(at),
            _ => d,
        })
        .collect()
}
