//! Saving checkpoints into a directory: the bundle, then the state file, then retention.

use crate::bundle_writer::BundleWriter;
use crate::checkpoint_path::{checkpoint_prefix, delete_checkpoint, latest_checkpoint};
use crate::checkpoint_state::{CheckpointState, PathStyle, CHECKPOINT_STATE_FILENAME};
use crate::naming::{index_filename, with_suffix};
use crate::retention::{Deletion, Retention, RetentionPolicy};
use ferroflow_core::{Error, Result, Tensor};
use std::path::{Path, PathBuf};

/// Options of a [`CheckpointManager`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointManagerConfig {
    /// File name of checkpoint prefixes; a save at step N writes `<dir>/<basename>-N`.
    ///
    /// By default, `"model.ckpt"` (what `CheckpointSaverHook` uses).
    pub basename: String,
    /// Which checkpoints to keep.
    ///
    /// By default, the last 5 ([`RetentionPolicy::default`]).
    pub retention: RetentionPolicy,
    /// How paths are written into the state file.
    ///
    /// By default, [`PathStyle::Relative`], so that a run directory can be moved.
    pub path_style: PathStyle,
    /// Name of the state file (TF's `latest_filename`).
    ///
    /// By default, `"checkpoint"`.
    pub state_filename: String,
}

impl Default for CheckpointManagerConfig {
    fn default() -> Self {
        CheckpointManagerConfig {
            basename: "model.ckpt".to_string(),
            retention: RetentionPolicy::default(),
            path_style: PathStyle::Relative,
            state_filename: CHECKPOINT_STATE_FILENAME.to_string(),
        }
    }
}

/// Writes whole checkpoints into a directory and keeps the last few.
///
/// Mirrors `tf.train.CheckpointManager` with TF1 `Saver` naming and retention. Each
/// [`save`](Self::save):
/// 1. writes the bundle (data and index under temporary names, fsynced, renamed data first, index last);
/// 2. records it in the [`Retention`] window;
/// 3. rewrites the state file atomically, last, so that it never names a checkpoint that is not complete;
/// 4. deletes (or preserves for good) at most one checkpoint that fell out of the window.
///
/// On construction it re-arms retention from an existing state file, so `max_to_keep` holds across
/// restarts.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{BundleReader, CheckpointManager, CheckpointManagerConfig, RetentionPolicy};
/// use ferroflow_core::Tensor;
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let config = CheckpointManagerConfig {
///     retention: RetentionPolicy { max_to_keep: Some(2), ..Default::default() },
///     ..Default::default()
/// };
/// let mut manager = CheckpointManager::new(dir.path(), config)?;
/// for step in 1..=3i64 {
///     let w = Tensor::vector(vec![step as f32; 4]);
///     manager.save(Some(step), [("w", &w), ("global_step", &Tensor::scalar(step))])?;
/// }
/// let latest = manager.latest_checkpoint()?.expect("saved above");
/// assert!(latest.ends_with("model.ckpt-3"));
/// assert_eq!(manager.checkpoints().len(), 2, "model.ckpt-1 was deleted");
/// assert_eq!(BundleReader::open(&latest)?.read("global_step")?.scalar_value::<i64>()?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CheckpointManager {
    dir: PathBuf,
    config: CheckpointManagerConfig,
    retention: Retention,
}

impl CheckpointManager {
    /// A manager of `dir` (created if missing), re-arming retention from `dir`'s state file.
    ///
    /// # Errors
    /// `InvalidArgument` for a basename that is empty, has path components or equals the state file name;
    /// `DataLoss` when an existing state file does not parse; I/O errors' codes naming the path.
    pub fn new(dir: impl AsRef<Path>, config: CheckpointManagerConfig) -> Result<CheckpointManager> {
        let dir = dir.as_ref().to_path_buf();
        let simple =
            |s: &str| !s.is_empty() && !s.contains('/') && !s.contains('\\') && s != "." && s != "..";
        if !simple(&config.basename) || !simple(&config.state_filename) {
            return Err(Error::invalid_argument(format!(
                "checkpoint basename {:?} and state file name {:?} must be plain file names",
                config.basename, config.state_filename
            )));
        }
        if config.basename == config.state_filename {
            return Err(Error::invalid_argument(format!(
                "checkpoint basename {:?} collides with the state file name",
                config.basename
            )));
        }
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::from(e).context(format_args!("creating checkpoint directory {}", dir.display()))
        })?;
        let now = unix_now();
        let mut retention = Retention::new(config.retention, now);
        if let Some(state) = CheckpointState::read_named(&dir, &config.state_filename)? {
            let paths = state.all_paths();
            let times = &state.all_model_checkpoint_timestamps;
            let recovered = paths.into_iter().enumerate().map(|(i, p)| {
                let t =
                    times.get(i).copied().filter(|_| times.len() == state.all_model_checkpoint_paths.len());
                let t = t.or_else(|| mtime(&index_filename(&p))).unwrap_or(now);
                (p, t)
            });
            retention.recover(recovered.filter(|(p, _)| index_filename(p).exists()));
            // TF2's CheckpointManager resets a preserved time that lies in the future (a clock change).
            if state.last_preserved_timestamp > 0.0 && state.last_preserved_timestamp <= now {
                retention.recover_last_preserved(state.last_preserved_timestamp);
            }
        }
        Ok(CheckpointManager { dir, config, retention })
    }

    /// The directory.
    pub fn directory(&self) -> &Path {
        &self.dir
    }

    /// The tracked checkpoints, oldest first.
    pub fn checkpoints(&self) -> Vec<PathBuf> {
        self.retention.tracked_paths()
    }

    /// The newest complete checkpoint named by the state file.
    ///
    /// # Errors
    /// As [`latest_checkpoint`](crate::latest_checkpoint).
    pub fn latest_checkpoint(&self) -> Result<Option<PathBuf>> {
        if self.config.state_filename == CHECKPOINT_STATE_FILENAME {
            return latest_checkpoint(&self.dir);
        }
        Ok(CheckpointState::read_named(&self.dir, &self.config.state_filename)?
            .map(|s| PathBuf::from(s.model_checkpoint_path))
            .filter(|p| index_filename(p).exists()))
    }

    /// Saves the tensors as checkpoint `<dir>/<basename>-<step>` (or `<dir>/<basename>` without a step)
    /// and returns its prefix.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or duplicate tensor name; I/O errors' codes naming the file. When the
    /// bundle fails, the state file is untouched. Failing to delete an old checkpoint is only logged.
    pub fn save<'t, S: AsRef<str>>(
        &mut self,
        step: Option<i64>,
        tensors: impl IntoIterator<Item = (S, &'t Tensor)>,
    ) -> Result<PathBuf> {
        self.save_at(step, tensors, unix_now())
    }

    /// As [`save`](Self::save), with the save time given in unix seconds (for tests and replays).
    ///
    /// # Errors
    /// As [`save`](Self::save).
    pub fn save_at<'t, S: AsRef<str>>(
        &mut self,
        step: Option<i64>,
        tensors: impl IntoIterator<Item = (S, &'t Tensor)>,
        now: f64,
    ) -> Result<PathBuf> {
        let base = self.dir.join(&self.config.basename);
        let prefix = match step {
            Some(step) => checkpoint_prefix(&base, step),
            None => base,
        };
        let mut writer = BundleWriter::new(&prefix)?;
        for (name, tensor) in tensors {
            writer.add(name.as_ref(), tensor)?;
        }
        writer.finish()?;

        self.retention.record_save(&prefix, now);
        let tracked = self.retention.tracked();
        let state = CheckpointState {
            model_checkpoint_path: prefix.to_string_lossy().into_owned(),
            all_model_checkpoint_paths: tracked
                .iter()
                .map(|(p, _)| p.to_string_lossy().into_owned())
                .collect(),
            all_model_checkpoint_timestamps: if tracked.is_empty() {
                vec![now]
            } else {
                tracked.iter().map(|(_, t)| *t).collect()
            },
            last_preserved_timestamp: self.retention.last_preserved_time(),
        };
        state.write_named(&self.dir, &self.config.state_filename, self.config.path_style)?;
        tracing::info!(path = %prefix.display(), "saved checkpoint");

        match self.retention.next_deletion() {
            Some(Deletion::Delete(old)) => {
                if let Err(error) = delete_checkpoint(&old) {
                    tracing::warn!(path = %old.display(), %error, "could not delete an old checkpoint");
                }
                // A `.meta` from a TF1 Saver is part of the checkpoint too.
                let _ = std::fs::remove_file(with_suffix(&old, ".meta"));
            }
            Some(Deletion::Preserve(kept)) => {
                tracing::info!(path = %kept.display(), "keeping checkpoint for good (keep_checkpoint_every_n_hours)");
            }
            None => {}
        }
        Ok(prefix)
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn mtime(path: &Path) -> Option<f64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    modified.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint_path::checkpoint_exists;

    #[test]
    fn keeps_the_window_across_restarts() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let config = CheckpointManagerConfig {
            retention: RetentionPolicy { max_to_keep: Some(2), ..Default::default() },
            ..Default::default()
        };
        let t = Tensor::scalar(1.0f32);
        let mut m = CheckpointManager::new(dir.path(), config.clone())?;
        m.save_at(Some(1), [("t", &t)], 1.0)?;
        m.save_at(Some(2), [("t", &t)], 2.0)?;
        drop(m);
        let mut m = CheckpointManager::new(dir.path(), config)?;
        assert_eq!(m.checkpoints().len(), 2, "recovered from the state file");
        m.save_at(Some(3), [("t", &t)], 3.0)?;
        assert!(!checkpoint_exists(dir.path().join("model.ckpt-1")));
        assert!(checkpoint_exists(dir.path().join("model.ckpt-2")));
        let state = std::fs::read_to_string(dir.path().join("checkpoint"))?;
        assert!(state.starts_with("model_checkpoint_path: \"model.ckpt-3\"\n"), "{state}");
        assert!(state.contains("all_model_checkpoint_timestamps: 2.0\n"), "{state}");
        Ok(())
    }

    #[test]
    fn a_failed_bundle_leaves_the_state_alone() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut m = CheckpointManager::new(dir.path(), CheckpointManagerConfig::default())?;
        let t = Tensor::scalar(1i32);
        m.save(Some(1), [("t", &t)])?;
        assert!(m.save(Some(2), [("t", &t), ("t", &t)]).is_err(), "duplicate name");
        assert_eq!(m.latest_checkpoint()?, Some(dir.path().join("model.ckpt-1")));
        assert!(!checkpoint_exists(dir.path().join("model.ckpt-2")));
        let bad = CheckpointManagerConfig { basename: "checkpoint".into(), ..Default::default() };
        assert!(CheckpointManager::new(dir.path(), bad).is_err());
        Ok(())
    }
}
