//! Phase 4, bundle: build the pipeline's Lambda functions with cargo-lambda and
//! package each as a byte-reproducible zip (sorted entries, fixed timestamps and
//! modes) named by its SHA-256. The functions' sources travel inside pipewright
//! ([`source`]), so bundling works in any folder: they are built in pipewright's cache.
//!
//! External tools are values here: [`build_command`] returns the `Command` that
//! would run (tests inspect it), and [`run_tool`] is the one place a tool runs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::plan::Plan;
use crate::spec::model::Architecture;

pub mod source;

/// The Rust package of the ingest function, and the zip entry of its config.
pub const INGEST_PACKAGE: &str = "pipewright-ingest";

/// A built, zipped function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Artifact {
    pub function: String,
    pub architecture: &'static str,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// The key the stacks expect in the artifacts bucket.
    pub s3_key: String,
}

/// Why a bundle could not be made.
#[derive(Debug)]
pub enum BundleError {
    ToolMissing(String),
    TargetMissing(String),
    BuildFailed(String),
    Io(io::Error),
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::ToolMissing(m)
            | BundleError::TargetMissing(m)
            | BundleError::BuildFailed(m) => f.write_str(m),
            BundleError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for BundleError {
    fn from(e: io::Error) -> Self {
        BundleError::Io(e)
    }
}

/// The Rust target triple of an architecture.
pub fn target_triple(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

/// `cargo lambda build --profile lambda --locked` of the function workspace in `dir`
/// for one architecture (its `lambda` profile: stripped, thin LTO, one codegen unit),
/// into `dir/target` whatever `CARGO_TARGET_DIR` says.
pub fn build_command(dir: &Path, package: &str, arch: Architecture) -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .args([
            "lambda",
            "build",
            "--profile",
            "lambda",
            "--locked",
            "--package",
            package,
            "--target",
        ])
        .arg(target_triple(arch));
    c
}

/// Runs a tool, failing with its stderr (and a hint) when it fails or is missing.
pub fn run_tool(mut c: Command, what: &str) -> Result<(), BundleError> {
    let out = c.output().map_err(|e| {
        BundleError::ToolMissing(format!("cannot run {what} ({:?}): {e}", c.get_program()))
    })?;
    if !out.status.success() {
        return Err(BundleError::BuildFailed(format!(
            "{what} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Checks cargo-lambda is installed, with the fix when it is not.
pub fn check_cargo_lambda() -> Result<(), BundleError> {
    let ok = Command::new("cargo")
        .args(["lambda", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(())
    } else {
        Err(BundleError::ToolMissing(
            "cargo-lambda is not installed: `pip install cargo-lambda==1.9.2 ziglang==0.17.1` (as `.ci/run` does) and put its bin folder on PATH".into(),
        ))
    }
}

/// Whether rustup has the target installed (arm64 builds need it).
pub fn has_target(arch: Architecture) -> bool {
    if arch == Architecture::X86_64 {
        return true;
    }
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == target_triple(arch))
        })
}

/// A zip whose bytes depend only on the entries: sorted by name, 1980-01-01
/// timestamps, mode 0755 for executables and 0644 otherwise, deflate level 6.
pub fn reproducible_zip(entries: &[(&str, &[u8], bool)]) -> io::Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut sorted: Vec<&(&str, &[u8], bool)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, bytes, exec) in sorted {
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(if *exec { 0o755 } else { 0o644 });
        w.start_file(*name, opts).map_err(io::Error::other)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish().map_err(io::Error::other)?.into_inner())
}

/// Builds and zips the ingest function of a plan for one architecture into
/// `out_dir/<env>/lambda/ingest/<arch>/<sha256>.zip`, building in the function
/// workspace under `cache` ([`source::prepare`]). Writes nothing in `out_dir` on failure.
pub fn bundle_ingest(
    plan: &Plan,
    cache: &Path,
    out_dir: &Path,
    arch: Architecture,
) -> Result<Artifact, BundleError> {
    if !has_target(arch) {
        return Err(BundleError::TargetMissing(format!(
            "the {} target is not installed: `rustup target add {}`",
            arch.as_str(),
            target_triple(arch)
        )));
    }
    let workspace = source::prepare(cache).map_err(|e| {
        BundleError::Io(io::Error::new(
            e.kind(),
            format!(
                "cannot write the ingest function's sources under {}: {e}",
                cache.display()
            ),
        ))
    })?;
    run_tool(
        build_command(&workspace, INGEST_PACKAGE, arch),
        "cargo lambda build",
    )?;
    let binary = workspace
        .join("target")
        .join("lambda")
        .join(INGEST_PACKAGE)
        .join("bootstrap");
    let exe = std::fs::read(&binary)?;
    let config = plan.ingest_config.to_canonical_json();
    let zip = reproducible_zip(&[
        ("bootstrap", &exe, true),
        (
            pipewright_ingest_config::CONFIG_FILE,
            config.as_bytes(),
            false,
        ),
    ])?;
    let sha = crate::emit::sha256_hex(&zip);
    let path = out_dir
        .join(&plan.env)
        .join("lambda")
        .join("ingest")
        .join(arch.as_str())
        .join(format!("{sha}.zip"));
    crate::fsio::write_atomic(&path, &zip)?;
    Ok(Artifact {
        function: plan.function_name.clone(),
        architecture: arch.as_str(),
        bytes: zip.len() as u64,
        s3_key: format!("lambda/ingest/{sha}.zip"),
        path,
        sha256: sha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_depend_only_on_content() {
        let a =
            reproducible_zip(&[("b.json", b"{}", false), ("bootstrap", b"\x7fELF", true)]).unwrap();
        let b =
            reproducible_zip(&[("bootstrap", b"\x7fELF", true), ("b.json", b"{}", false)]).unwrap();
        assert_eq!(a, b);
        let c = reproducible_zip(&[("bootstrap", b"\x7fELF!", true), ("b.json", b"{}", false)])
            .unwrap();
        assert_ne!(a, c);
        let mut z = zip::ZipArchive::new(io::Cursor::new(a)).unwrap();
        let names: Vec<String> = (0..z.len())
            .map(|i| z.by_index(i).unwrap().name().unwrap().into_owned())
            .collect();
        assert_eq!(names, ["b.json", "bootstrap"]);
        let f = z.by_name("bootstrap").unwrap();
        assert_eq!(f.unix_mode().unwrap() & 0o777, 0o755);
        assert_eq!(f.last_modified().unwrap(), zip::DateTime::default());
    }

    #[test]
    fn build_command_targets_the_architecture() {
        let c = build_command(Path::new("/w"), "pipewright-ingest", Architecture::Arm64);
        let target = c.get_envs().find(|(k, _)| *k == "CARGO_TARGET_DIR");
        assert_eq!(
            target,
            Some(("CARGO_TARGET_DIR".as_ref(), Some("/w/target".as_ref())))
        );
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "lambda",
                "build",
                "--profile",
                "lambda",
                "--locked",
                "--package",
                "pipewright-ingest",
                "--target",
                "aarch64-unknown-linux-gnu"
            ]
        );
        assert_eq!(c.get_current_dir(), Some(Path::new("/w")));
    }
}
