//! An exclusive lock on a run directory, so that two trainers never write checkpoints into the same
//! directory at once.

use ferroflow_core::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside the locked directory.
pub const LOCK_FILENAME: &str = "ferroflow.lock";

/// Holds `<dir>/ferroflow.lock`, a file containing the holder's pid, until dropped.
///
/// A lock left behind by a process that no longer runs (a crash, a kill -9) is taken over. Liveness is
/// checked through `/proc/<pid>` on Linux; elsewhere any existing lock counts as held. The lock is for
/// processes on one machine: a pid means nothing on another host.
///
/// # Errors
///
/// [`acquire`](Self::acquire) returns `AlreadyExists` naming the holder's pid and the lock file when a live
/// process holds it.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::CheckpointDirLock;
/// use ferroflow_core::Code;
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let lock = CheckpointDirLock::acquire(dir.path())?;
/// let second = CheckpointDirLock::acquire(dir.path()).unwrap_err();
/// assert_eq!(second.code(), Code::AlreadyExists);
/// drop(lock);
/// let _again = CheckpointDirLock::acquire(dir.path())?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CheckpointDirLock {
    path: PathBuf,
    pid: u32,
}

impl CheckpointDirLock {
    /// Takes the lock of `dir`, creating the directory if needed.
    ///
    /// # Errors
    /// `AlreadyExists` naming the holder when a live process holds the lock; I/O errors' codes naming the
    /// lock file.
    pub fn acquire(dir: impl AsRef<Path>) -> Result<CheckpointDirLock> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::from(e).context(format_args!("creating run directory {}", dir.display())))?;
        let path = dir.join(LOCK_FILENAME);
        let pid = std::process::id();
        // Two rounds: the second follows the removal of a stale lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(format!("{pid}\n").as_bytes()).and_then(|()| f.sync_all()).map_err(|e| {
                        Error::from(e).context(format_args!("writing lock {}", path.display()))
                    })?;
                    return Ok(CheckpointDirLock { path, pid });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = read_holder(&path);
                    match holder {
                        Some(h) if process_alive(h) => {
                            return Err(Error::already_exists(format!(
                                "run directory {} is locked by process {h} (lock file {}); is another trainer \
                                 using it?",
                                dir.display(),
                                path.display()
                            )));
                        }
                        _ => {
                            tracing::warn!(lock = %path.display(), stale_pid = ?holder, "taking over a stale run-directory lock");
                            match std::fs::remove_file(&path) {
                                Ok(()) => {}
                                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                                Err(e) => {
                                    return Err(Error::from(e)
                                        .context(format_args!("removing stale lock {}", path.display())))
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    return Err(Error::from(e).context(format_args!("creating lock {}", path.display())))
                }
            }
        }
        Err(Error::aborted(format!("lock {} changed hands while taking it over; retry", path.display())))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CheckpointDirLock {
    fn drop(&mut self) {
        // Only remove the file if it is still ours: a holder that was (wrongly) declared stale must not
        // delete its successor's lock.
        if read_holder(&self.path) == Some(self.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_holder(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_garbage_locks_are_taken_over() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // pid_max on Linux is at most 2^22, so this pid cannot be running.
        std::fs::write(dir.path().join(LOCK_FILENAME), "99999999\n")?;
        let lock = CheckpointDirLock::acquire(dir.path())?;
        assert_eq!(read_holder(lock.path()), Some(std::process::id()));
        drop(lock);
        assert!(!dir.path().join(LOCK_FILENAME).exists());
        std::fs::write(dir.path().join(LOCK_FILENAME), "not a pid")?;
        let _lock = CheckpointDirLock::acquire(dir.path())?;
        Ok(())
    }

    #[test]
    fn a_live_holder_is_named() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // pid 1 always runs.
        std::fs::write(dir.path().join(LOCK_FILENAME), "1\n")?;
        let err = CheckpointDirLock::acquire(dir.path()).err();
        let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
        assert_eq!(err.map(|e| e.code()), Some(ferroflow_core::Code::AlreadyExists));
        assert!(msg.contains("process 1 "), "{msg}");
        Ok(())
    }
}
