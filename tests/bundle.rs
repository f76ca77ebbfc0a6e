//! `pipewright bundle` for real: builds the ingest function with cargo-lambda twice, from
//! two copies of the workspace at different paths, each with its own target directory, and
//! checks the zips are byte for byte the same (so the second build is no cache hit), named by
//! their hash, hold exactly `bootstrap` and the config synth derives, and that the binary
//! needs no glibc newer than 2.34 (Amazon Linux 2023). arm64 is compared the same way when
//! the toolchain can build it, and otherwise reported as skipped with the reason. Building
//! takes minutes, so the test is ignored by a plain `cargo test`; `.ci/run` runs it with
//! `--ignored`. With `PIPEWRIGHT_BUNDLE_KEEP=DIR` the x86_64 zip is copied to
//! `DIR/ingest-dev-x86_64.zip` (`.ci/run` deploys it in `scripts/demo`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use pipewright::spec::{self, RealFiles};

/// A copy of the workspace's files (those git lists, committed or not, minus ignored ones)
/// under `dir`, so that a build there shares no path and no target directory with this one.
fn checkout(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new("git")
        .current_dir(src)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git runs (the test copies the files git lists)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in o.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let rel = Path::new(std::str::from_utf8(name).unwrap());
        let from = src.join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree, not yet committed
        }
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    dir.to_path_buf()
}

/// `pipewright bundle --env dev` in `workspace`, with `workspace/target` as the target dir.
fn bundle(workspace: &Path, out: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", workspace.join("target"))
        // .ci/run lints its test build through clippy-driver; a bundle is compiled by rustc
        // alone (clippy-driver turns MIR optimisations off, so its code would differ).
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
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
fn ingest_bundle_is_reproducible_and_fits_al2023() {
    // Two checkouts at paths of different lengths, each with its own target directory, built
    // at the same time: neither build can reuse anything of the other's.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ws_a = checkout(&a.path().join("pipewright"));
    let ws_b = checkout(&b.path().join("elsewhere").join("another-checkout"));
    let (first, second) = std::thread::scope(|s| {
        let one = s.spawn(|| bundle(&ws_a, &a.path().join("out")));
        let two = s.spawn(|| bundle(&ws_b, &b.path().join("out")));
        (one.join().unwrap(), two.join().unwrap())
    });
    let x86 = artefact(&first, "x86_64").expect("an x86_64 artefact");
    let x86_again = artefact(&second, "x86_64").expect("an x86_64 artefact");
    assert!(
        zip_bytes(x86) == zip_bytes(x86_again),
        "two checkouts built two different x86_64 zips: {} and {}",
        x86["path"],
        x86_again["path"]
    );
    match (artefact(&first, "arm64"), artefact(&second, "arm64")) {
        (Some(arm), Some(arm_again)) => {
            assert!(
                zip_bytes(arm) == zip_bytes(arm_again),
                "two checkouts built two different arm64 zips"
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
