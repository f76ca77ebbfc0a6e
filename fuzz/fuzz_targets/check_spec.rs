//! Fuzzes load + validate: any bytes as `pipeline.yaml`, with one schema file
//! available, must give diagnostics or a spec — never a panic, hang or overflow.
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
    // Rendering must not panic either (spans must be valid char boundaries).
    let _ = pipewright::diag::render_human(&checked.diagnostics, &checked.sources, false);
    if let Some(v) = checked.validated() {
        assert!(!v.spec.sources.is_empty());
    }
});
