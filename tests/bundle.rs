//! `pipewright bundle` for real: builds the ingest function with cargo-lambda, checks
//! the zip is reproducible and named by its hash, holds exactly `bootstrap` and the
//! config synth derives, and that the binary needs no glibc newer than 2.34
//! (Amazon Linux 2023). Building takes minutes, so the test is ignored by a plain
//! `cargo test`; `.ci/run` runs it with `--ignored`.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use pipewright::spec::{self, RealFiles};

fn bundle(out: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bundle", "--env", "dev", "--format", "json", "--out"])
        .arg(out)
        .output()
        .expect("pipewright runs");
    assert!(
        o.status.success(),
        "bundle failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON list of artefacts")
}

/// The highest `GLIBC_x.y` version an ELF binary needs (from `objdump -T`).
fn max_glibc(binary: &Path) -> (u32, u32) {
    let o = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .expect("objdump runs");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter_map(|w| {
            w.trim_matches(|c| c == '(' || c == ')')
                .strip_prefix("GLIBC_")
        })
        .filter_map(|v| {
            let mut it = v.split('.');
            Some((
                it.next()?.parse().ok()?,
                it.next().and_then(|m| m.parse().ok()).unwrap_or(0),
            ))
        })
        .max()
        .expect("the binary links glibc")
}

#[test]
#[ignore = "builds the ingest function with cargo-lambda (minutes); .ci/run runs it"]
fn ingest_bundle_is_reproducible_and_fits_al2023() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = bundle(a.path());
    let second = bundle(b.path());
    let x86 = first
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["architecture"] == "x86_64")
        .expect("an x86_64 artefact");
    let x86_again = second
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["architecture"] == "x86_64")
        .unwrap();
    assert_eq!(
        x86["sha256"], x86_again["sha256"],
        "rebuilding gives the same zip"
    );

    let path = Path::new(x86["path"].as_str().unwrap());
    let bytes = std::fs::read(path).unwrap();
    let sha = pipewright::emit::sha256_hex(&bytes);
    assert_eq!(x86["sha256"], sha);
    assert_eq!(
        path.file_name().unwrap().to_string_lossy(),
        format!("{sha}.zip")
    );
    assert_eq!(x86["s3_key"], format!("lambda/ingest/{sha}.zip"));

    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    assert_eq!(names, ["bootstrap", "pipewright-ingest.json"]);
    let mut config = String::new();
    zip.by_name("pipewright-ingest.json")
        .unwrap()
        .read_to_string(&mut config)
        .unwrap();
    let checked = spec::check(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml"),
        &RealFiles,
    )
    .unwrap();
    let plan = pipewright::plan::lower(&checked.validated().unwrap(), "dev").unwrap();
    assert_eq!(config, plan.ingest_config.to_canonical_json());

    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("bootstrap");
    let mut f = zip.by_name("bootstrap").unwrap();
    assert_eq!(f.unix_mode().unwrap() & 0o777, 0o755);
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).unwrap();
    std::fs::write(&exe, buf).unwrap();
    let (major, minor) = max_glibc(&exe);
    assert!(
        (major, minor) <= (2, 34),
        "the bootstrap needs GLIBC_{major}.{minor}; Amazon Linux 2023 has 2.34"
    );
}
