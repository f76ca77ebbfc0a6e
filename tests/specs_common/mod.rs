//! The specs the tests read: the reference `pipeline.yaml` and every spec under
//! `tests/specs/ok/` (sorted), and their plans in every environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pipewright::plan::Plan;
use pipewright::spec::{self, RealFiles};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `.yaml` files of a folder of the repository, sorted.
pub fn specs_in(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

/// The reference spec, then every spec under `tests/specs/ok/`.
pub fn ok_specs() -> Vec<PathBuf> {
    let mut all = vec![Path::new(ROOT).join("pipeline.yaml")];
    all.extend(specs_in("tests/specs/ok"));
    all
}

/// The plan of every environment of every spec of [`ok_specs`].
pub fn plans() -> Vec<Plan> {
    let mut out = Vec::new();
    for s in ok_specs() {
        let checked = spec::check(&s, &RealFiles).unwrap();
        let v = checked.validated().expect("valid spec");
        for env in v.spec.environments.keys() {
            out.push(pipewright::plan::lower(&v, env).unwrap());
        }
    }
    out
}
