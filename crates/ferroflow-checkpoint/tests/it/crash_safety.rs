//! What a crash at each step of a save leaves behind.

use ferroflow_checkpoint::{
    checkpoint_exists, latest_checkpoint, BundleWriter, CheckpointDirLock, CheckpointManager,
    CheckpointManagerConfig,
};
use ferroflow_core::{Code, Result, Tensor};

#[test]
fn an_unfinished_bundle_leaves_nothing_and_the_state_keeps_the_old_checkpoint() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut m = CheckpointManager::new(dir.path(), CheckpointManagerConfig::default())?;
    let t = Tensor::vector(vec![1.0f32; 1000]);
    let old = m.save(Some(1), [("t", &t)])?;

    // A save that dies after writing tensor data but before `finish`.
    let mut w = BundleWriter::new(dir.path().join("model.ckpt-2"))?;
    w.add("t", &t)?;
    let names: Vec<String> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    assert!(names.iter().any(|n| n.starts_with("model.ckpt-2.data-00000-of-00001.tempstate")), "{names:?}");
    assert!(!names.iter().any(|n| n == "model.ckpt-2.data-00000-of-00001"), "data is only renamed on finish");
    drop(w);

    assert!(!checkpoint_exists(dir.path().join("model.ckpt-2")));
    assert_eq!(latest_checkpoint(dir.path())?, Some(old));
    let left: Vec<_> = std::fs::read_dir(dir.path())?.collect();
    assert_eq!(left.len(), 3, "checkpoint, model.ckpt-1.index and its data; no temporary files");
    Ok(())
}

#[test]
fn a_finished_bundle_without_a_state_update_is_not_the_latest() -> Result<()> {
    // The state file is written last: a crash between the bundle and the state file keeps the old answer.
    let dir = tempfile::tempdir()?;
    let mut m = CheckpointManager::new(dir.path(), CheckpointManagerConfig::default())?;
    let t = Tensor::scalar(1i64);
    let old = m.save(Some(1), [("t", &t)])?;
    let mut w = BundleWriter::new(dir.path().join("model.ckpt-2"))?;
    w.add("t", &t)?;
    w.finish()?;
    assert!(checkpoint_exists(dir.path().join("model.ckpt-2")));
    assert_eq!(latest_checkpoint(dir.path())?, Some(old));
    Ok(())
}

#[test]
fn one_trainer_per_run_directory() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let lock = CheckpointDirLock::acquire(dir.path())?;
    let err = CheckpointDirLock::acquire(dir.path()).unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(err.to_string().contains(&std::process::id().to_string()), "{err}");
    drop(lock);
    CheckpointDirLock::acquire(dir.path())?;
    Ok(())
}
