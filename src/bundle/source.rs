//! The ingest function's source, carried inside pipewright so that `bundle` works in
//! any folder, not only in pipewright's own checkout. [`prepare`] writes it once per
//! digest into pipewright's cache as a workspace of its own — the function, its config
//! crate and a lock file pinning every dependency — and cargo-lambda builds it there
//! with `--locked`. The files are those of `functions/ingest/` (whose development
//! manifest sits one level down, in `crate/`: `cargo package` leaves out any folder
//! holding a `Cargo.toml`, and these files must travel in pipewright's package) and of
//! the `pipewright-ingest-config` crate, which carries its own source.

use std::io;
use std::path::{Path, PathBuf};

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(
            (concat!("src/", $path), include_str!(concat!("../../functions/ingest/src/", $path))),
        )*]
    };
}

/// The function's Rust sources, by path in the function's workspace.
const SOURCES: &[(&str, &str)] = embed![
    "batch.rs",
    "body.rs",
    "claim.rs",
    "emf.rs",
    "handler.rs",
    "idempotency.rs",
    "items.rs",
    "lib.rs",
    "local.rs",
    "logging.rs",
    "main.rs",
    "setup.rs",
    "strict.rs",
    "tape.rs",
    "timefmt.rs",
];

/// Every file of the function's workspace, by relative path (sorted by path in [`files`]).
pub fn files() -> Vec<(&'static str, &'static str)> {
    let mut all = vec![
        (
            "Cargo.toml",
            include_str!("../../functions/ingest/Cargo.standalone.toml"),
        ),
        (
            "Cargo.lock",
            include_str!("../../functions/ingest/Cargo.standalone.lock"),
        ),
        (
            "ingest-config/Cargo.toml",
            pipewright_ingest_config::source::MANIFEST,
        ),
        (
            "ingest-config/src/lib.rs",
            pipewright_ingest_config::source::LIB,
        ),
    ];
    all.extend_from_slice(SOURCES);
    all.sort_by(|a, b| a.0.cmp(b.0));
    all
}

/// SHA-256 over every file's path and bytes: the name of its folder in the cache.
pub fn digest() -> String {
    let mut bytes = Vec::new();
    for (path, text) in files() {
        for part in [path.as_bytes(), text.as_bytes()] {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part);
        }
    }
    crate::emit::sha256_hex(&bytes)
}

/// pipewright's cache folder: `PIPEWRIGHT_CACHE_DIR`, else `$XDG_CACHE_HOME/pipewright`,
/// else `~/.cache/pipewright`.
pub fn cache_root() -> Result<PathBuf, String> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("PIPEWRIGHT_CACHE_DIR") {
        return Ok(d);
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Ok(d.join("pipewright"));
    }
    var("HOME")
        .map(|h| h.join(".cache").join("pipewright"))
        .ok_or_else(|| {
            "no cache folder: set PIPEWRIGHT_CACHE_DIR (or XDG_CACHE_HOME or HOME)".to_string()
        })
}

/// The function's workspace for this pipewright, written under `root` if it is not
/// there yet: `root/ingest/<version>-<digest>/`. The folder appears whole (written
/// beside it, then renamed), so a concurrent or interrupted bundle never sees part of it.
pub fn prepare(root: &Path) -> io::Result<PathBuf> {
    let name = format!("{}-{}", env!("CARGO_PKG_VERSION"), &digest()[..16]);
    let parent = root.join("ingest");
    let dir = parent.join(&name);
    if dir.join("Cargo.toml").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&parent)?;
    let staged = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(&parent)?;
    for (path, text) in files() {
        let to = staged.path().join(path);
        std::fs::create_dir_all(to.parent().expect("relative path in a folder"))?;
        std::fs::write(to, text)?;
    }
    match std::fs::rename(staged.path(), &dir) {
        Ok(()) => {
            let _ = staged.keep();
            Ok(dir)
        }
        // Another bundle put the same files there first.
        Err(_) if dir.join("Cargo.toml").is_file() => Ok(dir),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new source file in functions/ingest/src must be carried too.
    #[test]
    fn every_source_file_is_carried() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("functions/ingest/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| format!("src/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let carried: Vec<&str> = SOURCES.iter().map(|(p, _)| *p).collect();
        assert_eq!(carried, on_disk);
    }

    #[test]
    fn prepare_writes_the_files_once() {
        let root = tempfile::tempdir().unwrap();
        let a = prepare(root.path()).unwrap();
        let b = prepare(root.path()).unwrap();
        assert_eq!(a, b);
        for (path, text) in files() {
            assert_eq!(
                std::fs::read_to_string(a.join(path)).unwrap(),
                text,
                "{path}"
            );
        }
        let entries = std::fs::read_dir(root.path().join("ingest"))
            .unwrap()
            .count();
        assert_eq!(entries, 1, "no staging folder is left behind");
    }
}
