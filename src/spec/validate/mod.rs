//! Semantic validation of a spec whose shape is right: references between sections,
//! names, formats, AWS limits, event schemas, and warnings. Every rule reports and
//! goes on; nothing here stops at the first problem.
//!
//! One module per spec section (`pipeline`, `environments`, `sources`, `transforms`,
//! `consumers`, `security`), each reporting through the one context in `context`;
//! `formats` and `limits` hold the checks several sections share. `validate` only
//! sequences them, and that order is the order of the diagnostics.
//!
//! Rules that depend on an environment's derived resource names live in `plan`,
//! which is the only place names are derived.

use std::collections::{BTreeMap, BTreeSet};

use super::yaml::Doc;
use super::{LoadedSchema, Spec};
use crate::diag::Diagnostics;

mod consumers;
mod context;
mod dashboards;
mod environments;
mod formats;
mod limits;
mod pipeline;
mod security;
mod sources;
mod sql;
mod training;
mod transforms;

#[cfg(test)]
mod tests;

use context::{Ctx, Known};
pub use dashboards::{DatasetColumns, dataset_columns};
pub use formats::{parse_cidr, partition_of, valid_quicksight_principal, valid_region};
pub use training::hyperparameters as training_hyperparameters;

/// Derived partition columns a transform may use without declaring them.
pub const DERIVED_PARTITIONS: &[&str] = &["event_date", "event_hour", "ingest_date"];
/// The dataset name that means "the metadata index" in analytics and readers.
pub const INDEX_DATASET: &str = "index";

/// Validates everything that can be checked without choosing an environment.
pub fn validate(
    spec: &Spec,
    doc: &Doc,
    schemas: &BTreeMap<String, LoadedSchema>,
    broken: &BTreeSet<String>,
) -> Diagnostics {
    let source_names: Vec<&str> = spec
        .sources
        .keys()
        .map(String::as_str)
        .chain(broken.iter().filter_map(|b| b.strip_prefix("sources.")))
        .collect();
    let transform_names: Vec<&str> = spec
        .transforms
        .keys()
        .map(String::as_str)
        .chain(broken.iter().filter_map(|b| b.strip_prefix("transforms.")))
        .collect();
    let datasets: BTreeMap<String, &str> = spec
        .transforms
        .iter()
        .map(|(n, t)| (t.dataset.clone().unwrap_or_else(|| n.clone()), n.as_str()))
        .collect();
    let dataset_names: Vec<&str> = datasets.keys().map(String::as_str).collect();
    let mut cx = Ctx {
        doc,
        spec,
        schemas,
        known: Known {
            sources: &source_names,
            transforms: &transform_names,
            datasets: &dataset_names,
            lenient: broken.iter().any(|b| b.starts_with("transforms.")),
        },
        out: Diagnostics::default(),
    };

    pipeline::top_level(&mut cx);
    for (name, env) in &spec.environments {
        environments::environment(&mut cx, name, env);
    }
    let mut routes: BTreeMap<String, String> = BTreeMap::new();
    for (name, src) in &spec.sources {
        sources::source(&mut cx, name, src, &mut routes);
    }
    pipeline::storage(&mut cx, &spec.storage);
    pipeline::ingest(&mut cx, &spec.ingest);
    let mut seen_datasets: BTreeSet<String> = BTreeSet::new();
    for (name, t) in &spec.transforms {
        transforms::transform(&mut cx, name, t, &mut seen_datasets);
    }
    transforms::cycles(&mut cx);
    sources::unread(&mut cx);
    pipeline::catalog(&mut cx, &spec.catalog);
    if let Some(a) = &spec.analytics {
        consumers::analytics(&mut cx, a);
    }
    dashboards::dashboards(&mut cx);
    if let Some(ml) = &spec.ml {
        consumers::ml(&mut cx, ml);
        if let Some(t) = &ml.training {
            training::training(&mut cx, ml, t);
        }
    }
    security::security(&mut cx);
    cx.out
}
