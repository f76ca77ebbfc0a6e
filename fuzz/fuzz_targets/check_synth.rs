//! Fuzzes `check` and `synth` together: any bytes as `pipeline.yaml` (with one schema
//! file available) give diagnostics or a spec — never a panic, hang or overflow — and
//! for a spec `check` accepts, every environment lowers and synthesises with nothing
//! refused (`check` is the contract). Seed it with the committed specs:
//! `cargo +nightly fuzz run check_synth fuzz/corpus/check_synth tests/specs/ok`.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use pipewright::spec::{self, MemFiles};

fuzz_target!(|data: &[u8]| {
    let mut files = BTreeMap::<PathBuf, Vec<u8>>::new();
    files.insert(
        PathBuf::from("schemas/e.json"),
        br#"{"type":"object","properties":{"id":{"type":"string"},"at":{"type":"string","format":"date-time"}}}"#.to_vec(),
    );
    let checked = spec::check_bytes(Path::new("pipeline.yaml"), data.to_vec(), &MemFiles(files));
    let _ = pipewright::diag::render_human(&checked.diagnostics, &checked.sources, false);
    let Some(v) = checked.validated() else {
        return;
    };
    for env in v.spec.environments.keys() {
        let refused = pipewright::emit::contract::refusals(&v, env);
        let _ = pipewright::diag::render_human(
            &refused.iter().cloned().collect(),
            &checked.sources,
            false,
        );
        if refused.is_empty() {
            let plan = pipewright::plan::lower(&v, env).expect("check accepted: lowers");
            let out = pipewright::emit::synth(&plan).expect("check accepted: synthesises");
            assert!(pipewright::emit::availability::unavailable(&plan, &out).is_empty());
        }
    }
});
