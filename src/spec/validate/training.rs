//! Rules for `ml.training`: its inputs are granted by `ml` (sources, index lookups),
//! its schema versions, instance type, hyperparameters and schedule are well formed.
//! Whether the algorithm's image exists in an environment's region is checked per
//! environment in `emit::contract` (PW0287), as every other availability rule.

use super::context::{Ctx, code_list, p, pi, under};
use crate::spec::model::{Algorithm, Lookup, Ml, Training};
use crate::spec::schedule::Schedule;
use crate::spec::shape::did_you_mean;
use crate::spec::yaml::Seg;

/// SageMaker's limits on training hyperparameters (CreateTrainingJob).
const MAX_HYPERPARAMETERS: usize = 100;
const MAX_HP_KEY: usize = 256;
const MAX_HP_VALUE: usize = 2500;

/// The hyperparameters each algorithm documents, and which of them it requires.
/// Random Cut Forest: <https://docs.aws.amazon.com/sagemaker/latest/dg/rcf_hyperparameters.html>;
/// XGBoost: <https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost_hyperparameters.html>.
pub fn hyperparameters(a: Algorithm) -> (&'static [&'static str], &'static [&'static str]) {
    match a {
        Algorithm::RandomCutForest => (
            &[
                "eval_metrics",
                "feature_dim",
                "num_samples_per_tree",
                "num_trees",
            ],
            &["feature_dim"],
        ),
        Algorithm::Xgboost => (
            &[
                "alpha",
                "base_score",
                "booster",
                "colsample_bylevel",
                "colsample_bynode",
                "colsample_bytree",
                "csv_weights",
                "deterministic_histogram",
                "early_stopping_rounds",
                "eta",
                "eval_metric",
                "gamma",
                "grow_policy",
                "interaction_constraints",
                "lambda",
                "lambda_bias",
                "max_bin",
                "max_delta_step",
                "max_depth",
                "max_leaves",
                "min_child_weight",
                "monotone_constraints",
                "normalize_type",
                "nthread",
                "num_class",
                "num_round",
                "objective",
                "one_drop",
                "process_type",
                "rate_drop",
                "refresh_leaf",
                "sample_type",
                "scale_pos_weight",
                "seed",
                "single_precision_histogram",
                "sketch_eps",
                "skip_drop",
                "subsample",
                "tree_method",
                "tweedie_variance_power",
                "updater",
                "use_dask_gpu_training",
                "verbosity",
            ],
            &["num_round"],
        ),
    }
}

pub(super) fn training(cx: &mut Ctx<'_>, ml: &Ml, t: &Training) {
    let base = p(&["ml", "training"]);
    inputs(cx, ml, t, &base);
    let it = &t.instance_type;
    if !valid_instance_type(it) {
        cx.err(
            "PW0283",
            &under(&base, &["instance_type"]),
            format!("`{it}` is not a SageMaker training instance type"),
        )
        .help("write `ml.<family>.<size>`, for example `ml.m5.xlarge`");
    }
    hyperparameter_rules(cx, t, &base);
    if let Err(e) = Schedule::parse(&t.schedule) {
        cx.err(
            "PW0286",
            &under(&base, &["schedule"]),
            format!("invalid schedule `{}`: {e}", t.schedule),
        );
    }
}

/// Input sources are granted by `ml.sources`; the manifest step queries the index by
/// source and date (and by schema version when versions are named).
fn inputs(cx: &mut Ctx<'_>, ml: &Ml, t: &Training, base: &[Seg]) {
    let ib = under(base, &["inputs"]);
    for (i, s) in t.inputs.sources.iter().enumerate() {
        let at = pi(&["ml", "training", "inputs", "sources"], i);
        if !cx.known.sources.contains(&s.as_str()) {
            cx.source_ref(&at, s);
        } else if !ml.sources.contains(s) {
            cx.err(
                "PW0280",
                &at,
                format!("training reads `{s}`, which `ml.sources` does not grant"),
            )
            .help(format!("add `{s}` to `ml.sources`"));
        }
        if t.inputs.sources[..i].contains(s) {
            cx.err("PW0280", &at, format!("source `{s}` is listed twice"));
        }
    }
    let mut needs = vec![Lookup::BySourceDate];
    if !t.inputs.schema_versions.is_empty() {
        needs.push(Lookup::BySchemaVersion);
    }
    for l in needs {
        if !ml.index_lookups.contains(&l) {
            cx.err(
                "PW0281",
                &under(&ib, &[]),
                format!("the manifest step queries the index's `{}` lookup, which `ml.index_lookups` does not grant", l.as_str()),
            )
            .help(format!("add `{}` to `ml.index_lookups` (and to `index.lookups`)", l.as_str()));
        }
    }
    for (i, v) in t.inputs.schema_versions.iter().enumerate() {
        if !valid_semver(v) {
            cx.err(
                "PW0282",
                &pi(&["ml", "training", "inputs", "schema_versions"], i),
                format!("`{v}` is not a schema version"),
            )
            .help("write `MAJOR.MINOR.PATCH`, as in the source's `event_schema.version`");
        }
    }
}

fn hyperparameter_rules(cx: &mut Ctx<'_>, t: &Training, base: &[Seg]) {
    let hb = under(base, &["hyperparameters"]);
    let (known, required) = hyperparameters(t.algorithm);
    if t.hyperparameters.len() > MAX_HYPERPARAMETERS {
        cx.err(
            "PW0284",
            &hb,
            format!(
                "{} hyperparameters; SageMaker accepts at most {MAX_HYPERPARAMETERS}",
                t.hyperparameters.len()
            ),
        );
    }
    for (k, v) in &t.hyperparameters {
        let at = under(&hb, &[k]);
        if !known.contains(&k.as_str()) {
            let help = match did_you_mean(k, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("{} takes: {}", t.algorithm.as_str(), code_list(known)),
            };
            cx.err(
                "PW0284",
                &at,
                format!("{} has no hyperparameter `{k}`", t.algorithm.as_str()),
            )
            .help(help);
            cx.at_key(&at);
        } else if k.len() > MAX_HP_KEY || v.len() > MAX_HP_VALUE {
            cx.err("PW0284", &at, format!("hyperparameter `{k}` is longer than SageMaker accepts (names {MAX_HP_KEY}, values {MAX_HP_VALUE} characters)"));
        }
    }
    for r in required {
        if !t.hyperparameters.contains_key(*r) {
            cx.err(
                "PW0285",
                &hb,
                format!("{} needs the hyperparameter `{r}`", t.algorithm.as_str()),
            )
            .help(format!(
                "add `{r}: ...` under `ml.training.hyperparameters`"
            ));
        }
    }
}

/// `ml.<family>.<size>`: lower-case letters and digits (family may carry a suffix
/// such as `ml.g4dn.xlarge`).
fn valid_instance_type(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts[0] == "ml"
        && parts[1..].iter().all(|x| {
            !x.is_empty()
                && x.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn valid_semver(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|x| !x.is_empty() && x.len() <= 9 && x.bytes().all(|b| b.is_ascii_digit()))
}
