//! The real TensorFlow (from the venv) reads checkpoints ferroflow wrote. Skipped outside CI when the
//! venv is missing; an error under CI=true.

use crate::fixtures::{big_tensor, fixtures_dir, golden_tensors, many_tensors};
use ferroflow_checkpoint::{BundleReader, CheckpointManager, CheckpointManagerConfig};
use ferroflow_core::Result;

#[test]
fn tensorflow_reads_our_checkpoint_and_writes_the_same_bytes() -> Result<()> {
    let Some(python) = ferroflow_oracle::python("tensorflow_reads_our_checkpoint")
        .map_err(ferroflow_core::Error::unavailable)?
    else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let mut tensors = golden_tensors()?;
    tensors.extend(many_tensors());
    tensors.push(big_tensor()?);
    let mut manager = CheckpointManager::new(dir.path(), CheckpointManagerConfig::default())?;
    let prefix = manager.save(Some(21), tensors.iter().map(|(n, t)| (n.as_str(), t)))?;

    // Our own reader first, so a failure here is not blamed on TensorFlow.
    let reader = BundleReader::open(&prefix)?;
    assert_eq!(reader.keys().count(), tensors.len());
    let index_len = std::fs::metadata(ferroflow_checkpoint::index_filename(&prefix))?.len();
    assert!(index_len > 2 * 262_144, "the index ({index_len} bytes) should span several data blocks");

    let script = fixtures_dir().join("check_ferroflow_checkpoint.py");
    let out = ferroflow_oracle::run(
        &python,
        &[&script.to_string_lossy(), &dir.path().to_string_lossy(), &prefix.to_string_lossy()],
    )
    .map_err(ferroflow_core::Error::internal)?;
    assert_eq!(out.trim(), format!("OK {}", tensors.len()));
    Ok(())
}
