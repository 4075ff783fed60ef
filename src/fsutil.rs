//! File writing: atomic, private. Files that may hold secrets (tokens, keys, kubeconfigs)
//! are written to a temporary file in the target directory with mode 0600, flushed, and
//! renamed over the target, so a reader never sees a half-written file.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `data` to `path` atomically with mode 0600. Errors name the path.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.write_all(data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.as_file().sync_all().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path).map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}
