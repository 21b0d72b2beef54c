//! Checking whole checkpoints, and falling back to an older one when the newest is damaged.

use crate::bundle_reader::BundleReader;
use crate::checkpoint_path::checkpoint_exists;
use crate::checkpoint_state::CheckpointState;
use ferroflow_core::Result;
use std::path::{Path, PathBuf};

/// What [`verify`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Tensors read and checked.
    pub tensors: usize,
    /// Bytes of tensor data checked.
    pub bytes: u64,
}

/// Reads every tensor of the checkpoint at `prefix` and checks every checksum (index blocks and tensors).
///
/// # Errors
/// As [`BundleReader::open`] and [`BundleReader::read`]: `NotFound` for missing files, `DataLoss` naming
/// the damaged tensor or file.
///
/// # Examples
///
/// ```
/// # use ferroflow_checkpoint::{verify, BundleWriter};
/// # use ferroflow_core::Tensor;
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// # let prefix = dir.path().join("ckpt");
/// # let mut w = BundleWriter::new(&prefix)?;
/// # w.add("x", &Tensor::scalar(1.0f32))?;
/// # w.finish()?;
/// assert_eq!(verify(&prefix)?.tensors, 1);
/// # Ok(())
/// # }
/// ```
pub fn verify(prefix: impl AsRef<Path>) -> Result<VerifyReport> {
    let reader = BundleReader::open(prefix)?;
    let mut report = VerifyReport { tensors: 0, bytes: 0 };
    let keys: Vec<String> = reader.keys().map(str::to_string).collect();
    for key in keys {
        if reader.entry(&key).is_some_and(|e| !e.slices.is_empty()) {
            continue;
        }
        reader.read(&key)?;
        report.tensors += 1;
        report.bytes += reader.entry(&key).map_or(0, |e| e.size.max(0) as u64);
    }
    Ok(report)
}

/// The newest checkpoint listed in `<dir>/checkpoint` that [`verify`] accepts, trying
/// `model_checkpoint_path` first and then `all_model_checkpoint_paths` from newest to oldest. Each
/// checkpoint skipped is logged with `tracing::warn!` and the reason.
///
/// # Errors
/// `DataLoss` when the state file itself does not parse; other I/O errors reading it.
pub fn latest_valid_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    let Some(state) = CheckpointState::read(dir)? else {
        return Ok(None);
    };
    let mut candidates = vec![PathBuf::from(&state.model_checkpoint_path)];
    for p in state.all_model_checkpoint_paths.iter().rev() {
        let p = PathBuf::from(p);
        if !candidates.contains(&p) {
            candidates.push(p);
        }
    }
    for prefix in candidates {
        if !checkpoint_exists(&prefix) {
            tracing::warn!(skipped = %prefix.display(), "checkpoint listed in the state file has no index; trying an older one");
            continue;
        }
        match verify(&prefix) {
            Ok(_) => return Ok(Some(prefix)),
            Err(error) => {
                tracing::warn!(skipped = %prefix.display(), %error, "checkpoint does not verify; trying an older one");
            }
        }
    }
    Ok(None)
}
