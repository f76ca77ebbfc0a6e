//! `pipewright bundle` for real, away from pipewright's checkout: in one empty folder,
//! `init` then `check`, `synth` and `bundle`; in another, which holds only a copy of the
//! reference spec and its event schemas, `bundle --env dev`. Each has its own cache
//! (`PIPEWRIGHT_CACHE_DIR`), so each builds the ingest function from the sources
//! pipewright carries, with cargo-lambda, at its own path; the two `bootstrap`s must be
//! byte for byte the same (so the second build is no cache hit), each zip named by its
//! hash, holding exactly `bootstrap` and the config synth derives for its spec, and the
//! binary needing no glibc newer than 2.34 (Amazon Linux 2023). arm64 is compared the
//! same way when the toolchain can build it, and otherwise reported as skipped with the
//! reason. Building takes minutes, so the test is ignored by a plain `cargo test`;
//! `.ci/run` runs it with `--ignored`. With `PIPEWRIGHT_BUNDLE_KEEP=DIR` the reference
//! dev x86_64 zip is copied to `DIR/ingest-dev-x86_64.zip` (`.ci/run` deploys it in
//! `scripts/demo`).

use std::io::Read;
use std::path::Path;
use std::process::Command;

use pipewright::spec::{self, RealFiles};

mod json_schema_common;

/// `pipewright ARGS` in `dir`, with `dir/cache` as pipewright's cache; its stdout.
fn pw(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .current_dir(dir)
        .env("PIPEWRIGHT_CACHE_DIR", dir.join("cache"))
        // .ci/run lints its test build through clippy-driver; a bundle is compiled by rustc
        // alone (clippy-driver turns MIR optimisations off, so its code would differ).
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CARGO_TARGET_DIR")
        .args(args)
        .output()
        .expect("pipewright runs");
    assert!(
        o.status.success(),
        "pipewright {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `bundle` in `dir`: the JSON list of artefacts.
fn bundle(dir: &Path, env: &str) -> serde_json::Value {
    let build = dir.join("build");
    let build = build.to_str().expect("a UTF-8 temporary path");
    let out = pw(
        dir,
        &["bundle", "--env", env, "--format", "json", "--out", build],
    );
    let doc = serde_json::from_slice(&out).expect("JSON list of artefacts");
    json_schema_common::assert_matches("bundle", &doc);
    doc
}

/// A folder holding only the reference spec and its event schemas.
fn reference_copy(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    std::fs::copy(root.join("pipeline.yaml"), dir.join("pipeline.yaml")).unwrap();
    for e in std::fs::read_dir(root.join("schemas")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("schemas").join(p.file_name().unwrap())).unwrap();
    }
}

/// The starter pipeline of `init`, checked and synthesised, then bundled.
fn init_and_bundle(dir: &Path) -> serde_json::Value {
    std::fs::create_dir_all(dir).unwrap();
    pw(dir, &["init"]);
    pw(dir, &["check", "--deny-warnings"]);
    pw(dir, &["synth"]);
    bundle(dir, "dev")
}

/// One entry of a zip.
fn entry(artefact: &serde_json::Value, name: &str) -> Vec<u8> {
    let bytes = zip_bytes(artefact);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut buf = Vec::new();
    zip.by_name(name).unwrap().read_to_end(&mut buf).unwrap();
    buf
}

/// The ingest config synth derives for `env` of the spec in `dir`.
fn config_of(dir: &Path, env: &str) -> String {
    let checked = spec::check(&dir.join("pipeline.yaml"), &RealFiles).unwrap();
    let plan = pipewright::plan::lower(&checked.validated().unwrap(), env).unwrap();
    plan.ingest_config.to_canonical_json()
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

/// The artefact of one architecture, if the build made one.
fn artefact<'a>(list: &'a serde_json::Value, arch: &str) -> Option<&'a serde_json::Value> {
    list.as_array()
        .expect("JSON list of artefacts")
        .iter()
        .find(|x| x["architecture"] == arch)
}

fn zip_bytes(artefact: &serde_json::Value) -> Vec<u8> {
    std::fs::read(artefact["path"].as_str().unwrap()).unwrap()
}

#[test]
#[ignore = "builds the ingest function with cargo-lambda twice (minutes); .ci/run runs it"]
fn ingest_bundle_is_reproducible_in_any_folder_and_fits_al2023() {
    // Two folders at paths of different lengths, neither inside pipewright's checkout, each
    // with its own cache, built at the same time: neither build can reuse the other's.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let starter = a.path().join("fleet-events");
    let reference = b.path().join("elsewhere").join("transit-payments");
    reference_copy(&reference);
    let (first, second) = std::thread::scope(|s| {
        let one = s.spawn(|| init_and_bundle(&starter));
        let two = s.spawn(|| bundle(&reference, "dev"));
        (one.join().unwrap(), two.join().unwrap())
    });
    let x86 = artefact(&second, "x86_64").expect("an x86_64 artefact");
    let x86_starter = artefact(&first, "x86_64").expect("an x86_64 artefact");
    assert!(
        entry(x86, "bootstrap") == entry(x86_starter, "bootstrap"),
        "two folders built two different x86_64 bootstraps: {} and {}",
        x86["path"],
        x86_starter["path"]
    );
    match (artefact(&first, "arm64"), artefact(&second, "arm64")) {
        (Some(arm), Some(arm_again)) => {
            assert!(
                entry(arm, "bootstrap") == entry(arm_again, "bootstrap"),
                "two folders built two different arm64 bootstraps"
            );
            eprintln!("arm64: built twice, identical ({})", arm["sha256"]);
        }
        (None, None) => {
            let installed = Command::new("rustup")
                .args(["target", "list", "--installed"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            assert!(
                !installed
                    .lines()
                    .any(|l| l.trim() == "aarch64-unknown-linux-gnu"),
                "the aarch64 target is installed, yet bundle made no arm64 zip"
            );
            eprintln!(
                "SKIP arm64: the aarch64-unknown-linux-gnu Rust target is not installed \
                 (`rustup target add aarch64-unknown-linux-gnu` would download it; CI's machine \
                 reaches package registries only); installed targets: {}",
                installed.split_whitespace().collect::<Vec<_>>().join(", ")
            );
        }
        _ => panic!("only one of the two builds made an arm64 zip"),
    }
    if let Some(keep) = std::env::var_os("PIPEWRIGHT_BUNDLE_KEEP") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::write(keep.join("ingest-dev-x86_64.zip"), zip_bytes(x86)).unwrap();
    }

    for (art, dir) in [(x86, &reference), (x86_starter, &starter)] {
        let path = Path::new(art["path"].as_str().unwrap());
        assert!(
            path.starts_with(dir),
            "{} is outside {}",
            path.display(),
            dir.display()
        );
        let bytes = std::fs::read(path).unwrap();
        let sha = pipewright::emit::sha256_hex(&bytes);
        assert_eq!(art["sha256"], sha);
        assert_eq!(
            path.file_name().unwrap().to_string_lossy(),
            format!("{sha}.zip")
        );
        assert_eq!(art["s3_key"], format!("lambda/ingest/{sha}.zip"));
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["bootstrap", "pipewright-ingest.json"]);
        let config = String::from_utf8(entry(art, "pipewright-ingest.json")).unwrap();
        assert_eq!(config, config_of(dir, "dev"));
    }

    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("bootstrap");
    std::fs::write(&exe, entry(x86, "bootstrap")).unwrap();
    let (major, minor) = max_glibc(&exe);
    assert!(
        (major, minor) <= (2, 34),
        "the bootstrap needs GLIBC_{major}.{minor}; Amazon Linux 2023 has 2.34"
    );
}
