//! Finding, naming and deleting checkpoints in a directory (`checkpoint_management.py`).

use crate::checkpoint_state::CheckpointState;
use crate::naming::{index_filename, with_suffix};
use ferroflow_core::{Error, Result};
use std::path::{Path, PathBuf};

/// The prefix TF1's `Saver.save(sess, base, global_step=step)` writes: `<base>-<step>`.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::checkpoint_prefix;
/// assert_eq!(checkpoint_prefix("runs/model.ckpt", 21), std::path::PathBuf::from("runs/model.ckpt-21"));
/// ```
pub fn checkpoint_prefix(base: impl AsRef<Path>, step: i64) -> PathBuf {
    with_suffix(base.as_ref(), &format!("-{step}"))
}

/// The step of a prefix named `<base>-<step>`, if it has one.
pub fn step_of_prefix(prefix: impl AsRef<Path>) -> Option<i64> {
    let name = prefix.as_ref().file_name()?.to_str()?;
    let (_, step) = name.rsplit_once('-')?;
    step.parse().ok()
}

/// Whether a V2 checkpoint (its `.index`) or a V1 checkpoint file exists at `prefix`.
///
/// Mirrors `tf.train.checkpoint_exists`.
pub fn checkpoint_exists(prefix: impl AsRef<Path>) -> bool {
    let prefix = prefix.as_ref();
    index_filename(prefix).is_file() || prefix.is_file()
}

/// The newest checkpoint named by `<dir>/checkpoint`, if that file exists and the checkpoint's files do.
///
/// Mirrors `tf.train.latest_checkpoint`. Difference: a state file that does not parse is an error here,
/// where TF logs it and returns `None`.
///
/// # Errors
/// `DataLoss` naming the state file when it does not parse; other I/O errors' codes.
///
/// # Examples
///
/// ```
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// assert_eq!(ferroflow_checkpoint::latest_checkpoint(dir.path())?, None);
/// # Ok(())
/// # }
/// ```
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    let dir = dir.as_ref();
    let Some(state) = CheckpointState::read(dir)? else {
        return Ok(None);
    };
    let prefix = PathBuf::from(&state.model_checkpoint_path);
    if checkpoint_exists(&prefix) {
        Ok(Some(prefix))
    } else {
        tracing::error!(prefix = %prefix.display(), dir = %dir.display(), "couldn't match files for checkpoint");
        Ok(None)
    }
}

/// The files of the checkpoint at `prefix` that exist: `.index`, every `.data-?????-of-?????` and
/// `.meta`, i.e. what to delete when the checkpoint is dropped.
///
/// # Errors
/// The I/O error's code when the directory cannot be listed (`NotFound` naming it when it is missing).
pub fn checkpoint_files(prefix: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let prefix = prefix.as_ref();
    let dir = match prefix.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(base) = prefix.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Err(Error::invalid_argument(format!(
            "checkpoint prefix {} has no file name",
            prefix.display()
        )));
    };
    let listing = std::fs::read_dir(dir).map_err(|e| {
        Error::from(e).context(format_args!("listing checkpoint directory {}", dir.display()))
    })?;
    let mut files = Vec::new();
    for item in listing {
        let item = item.map_err(|e| Error::from(e).context(format_args!("listing {}", dir.display())))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&base) else { continue };
        if rest == ".index" || rest == ".meta" || is_data_suffix(rest) {
            files.push(item.path());
        }
    }
    files.sort();
    Ok(files)
}

fn is_data_suffix(rest: &str) -> bool {
    // ".data-" + 5 digits + "-of-" + 5 digits
    let Some(tail) = rest.strip_prefix(".data-") else { return false };
    let b = tail.as_bytes();
    b.len() == 14
        && b[..5].iter().all(u8::is_ascii_digit)
        && &b[5..9] == b"-of-"
        && b[9..].iter().all(u8::is_ascii_digit)
}

/// Deletes the checkpoint at `prefix` (all of [`checkpoint_files`]). Files that are already gone are not
/// an error.
///
/// # Errors
/// The first I/O error other than `NotFound`, naming the file.
pub fn delete_checkpoint(prefix: impl AsRef<Path>) -> Result<()> {
    let files = match checkpoint_files(&prefix) {
        Ok(f) => f,
        Err(e) if e.code() == ferroflow_core::Code::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    // The index goes first: without it the checkpoint no longer counts as existing, even if deleting the
    // data files fails halfway.
    let (index, rest): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|p| p.extension().is_some_and(|e| e == "index"));
    for f in index.into_iter().chain(rest) {
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::from(e).context(format_args!("deleting {}", f.display()))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_steps() {
        assert_eq!(checkpoint_prefix("d/model.ckpt", 7), PathBuf::from("d/model.ckpt-7"));
        assert_eq!(step_of_prefix("d/model.ckpt-700"), Some(700));
        assert_eq!(step_of_prefix("d/model.ckpt"), None);
    }

    #[test]
    fn lists_and_deletes_only_this_checkpoints_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        for name in [
            "model.ckpt-1.index",
            "model.ckpt-1.data-00000-of-00001",
            "model.ckpt-1.meta",
            "model.ckpt-10.index",
            "model.ckpt-1.data-00000-of-00001.tempstate123",
            "checkpoint",
        ] {
            std::fs::write(dir.path().join(name), b"")?;
        }
        let prefix = dir.path().join("model.ckpt-1");
        assert!(checkpoint_exists(&prefix));
        assert_eq!(checkpoint_files(&prefix)?.len(), 3);
        delete_checkpoint(&prefix)?;
        assert!(!checkpoint_exists(&prefix));
        assert!(checkpoint_exists(dir.path().join("model.ckpt-10")));
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 3);
        delete_checkpoint(&prefix)?;
        delete_checkpoint(dir.path().join("gone/model.ckpt-1"))?;
        Ok(())
    }

    #[test]
    fn latest_needs_the_index() -> Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("checkpoint"), "model_checkpoint_path: \"model.ckpt-5\"\n")?;
        assert_eq!(latest_checkpoint(dir.path())?, None, "state names a checkpoint whose files are missing");
        std::fs::write(dir.path().join("model.ckpt-5.index"), b"")?;
        assert_eq!(latest_checkpoint(dir.path())?, Some(dir.path().join("model.ckpt-5")));
        Ok(())
    }
}
