//! File output that never leaves a half-written file: every write goes to a
//! temporary file in the target's folder and is renamed into place.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically (temporary file + rename), creating parent
/// folders. Readers see the old content or the new, never a mixture.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Moves the folder `staged` to `target`, keeping the previous `target` at `old` (in
/// the same staging area) so that a failed rename puts it back: readers see the old
/// folder or the new one, never a mixture.
pub fn swap_dir(staged: &Path, target: &Path, old: &Path) -> io::Result<()> {
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, old)?;
    }
    if let Err(e) = std::fs::rename(staged, target) {
        if had_old {
            let _ = std::fs::rename(old, target);
        }
        return Err(e);
    }
    Ok(())
}
