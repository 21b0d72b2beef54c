//! Crash-safe file replacement: write a temporary file, fsync it, rename it into place, fsync the
//! directory. A reader then sees either the old file or the whole new one, even after a power loss.

use crate::naming::with_suffix;
use ferroflow_core::{Error, Result};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary name beside `path`, unique per call: `<path>.tempstate<random hex>`, as TF names them.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    with_suffix(path, &format!(".tempstate{:016x}", h.finish()))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename or file creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    // Directories cannot be opened as files on Windows; NTFS journals renames itself.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::from(e).context(format_args!("syncing directory {}", dir.display())))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Renames `from` to `to`, naming both on failure.
pub(crate) fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .map_err(|e| Error::from(e).context(format_args!("renaming {} to {}", from.display(), to.display())))
}

/// Replaces `path` with `contents` atomically and durably.
///
/// # Errors
/// The I/O error's code (`NotFound` for a missing directory, ...) with the path in the message.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::from(e).context(format_args!("writing {}", tmp.display())));
    }
    if let Err(e) = rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_dir(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("checkpoint");
        write_atomically(&p, b"one")?;
        write_atomically(&p, b"two")?;
        assert_eq!(std::fs::read(&p)?, b"two");
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        assert_ne!(temp_path(&p), temp_path(&p));
        let missing = write_atomically(&dir.path().join("no/such/dir/checkpoint"), b"x");
        assert_eq!(missing.err().map(|e| e.code()), Some(ferroflow_core::Code::NotFound));
        Ok(())
    }
}
