//! The ingest function's workspace that `bundle` writes into pipewright's cache (from the
//! sources pipewright carries) is one cargo accepts as it is: its lock file is current
//! (`cargo metadata --locked` succeeds), and the function's dependencies there are exactly
//! those the repository's workspace develops and tests it with — both answers are
//! cargo's own.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn metadata(args: &[&str], manifest: &Path) -> Value {
    let o = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .args(args)
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("cargo runs");
    assert!(
        o.status.success(),
        "cargo metadata {args:?} on {}: {}",
        manifest.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The normal dependencies of `pipewright-ingest`, without where path dependencies live.
fn ingest_dependencies(meta: &Value) -> Vec<Value> {
    let pkg = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pipewright-ingest")
        .expect("the ingest package");
    let mut deps: Vec<Value> = pkg["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null())
        .map(|d| {
            let mut d = d.clone();
            d.as_object_mut().unwrap().remove("path");
            d
        })
        .collect();
    deps.sort_by_key(|d| d["name"].as_str().unwrap().to_string());
    deps
}

#[test]
fn the_carried_workspace_is_locked_and_matches_the_repository() {
    let cache = tempfile::tempdir().unwrap();
    let dir = pipewright::bundle::source::prepare(cache.path()).unwrap();
    let carried = metadata(&["--locked"], &dir.join("Cargo.toml"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = metadata(&["--no-deps"], &root.join("Cargo.toml"));
    let (a, b) = (ingest_dependencies(&carried), ingest_dependencies(&repo));
    assert!(!a.is_empty());
    assert_eq!(
        a, b,
        "functions/ingest/Cargo.standalone.toml and functions/ingest/crate/Cargo.toml disagree"
    );
    // Every version the carried lock resolves is one the repository's lock pins.
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    for p in carried["packages"].as_array().unwrap() {
        let entry = format!(
            "name = \"{}\"\nversion = \"{}\"",
            p["name"].as_str().unwrap(),
            p["version"].as_str().unwrap()
        );
        assert!(lock.contains(&entry), "{entry} is not in Cargo.lock");
    }
}
