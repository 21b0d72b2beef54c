//! Checkpoints written by the real TensorFlow (tests/fixtures/golden, from make_golden.py): we read them
//! exactly, and write the same bytes for the same tensors.

use crate::fixtures::{golden_dir, golden_tensors, saver_variables};
use ferroflow_checkpoint::{
    data_filename, index_filename, latest_checkpoint, BundleReader, BundleWriter, CheckpointState, PathStyle,
};
use ferroflow_core::{DType, Result, Shape, Tensor};
use std::path::Path;

fn write(prefix: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut w = BundleWriter::new(prefix)?;
    for (name, t) in tensors {
        w.add(name, t)?;
    }
    w.finish()
}

fn assert_same_files(ours: &Path, theirs: &Path) -> Result<()> {
    for (what, a, b) in [
        ("index", index_filename(ours), index_filename(theirs)),
        ("data", data_filename(ours, 0, 1), data_filename(theirs, 0, 1)),
    ] {
        let (a, b) = (std::fs::read(&a)?, std::fs::read(&b)?);
        assert_eq!(a.len(), b.len(), "{what} file sizes differ");
        let first = a.iter().zip(&b).position(|(x, y)| x != y);
        assert_eq!(first, None, "{what} files differ first at byte {first:?}");
    }
    Ok(())
}

#[test]
fn reads_tf1_saver_checkpoint_of_every_dtype() -> Result<()> {
    let dir = golden_dir().join("saver");
    let latest = latest_checkpoint(&dir)?.expect("the golden state file names a checkpoint");
    assert_eq!(latest, dir.join("model.ckpt-21"));
    let state = CheckpointState::read(&dir)?.expect("state file");
    assert_eq!(
        state.all_paths(),
        vec![dir.join("model.ckpt-10"), dir.join("model.ckpt-21")],
        "relative paths are resolved against the directory"
    );
    for step in [10, 21] {
        let reader = BundleReader::open(dir.join(format!("model.ckpt-{step}")))?;
        let expected = saver_variables(step)?;
        let listed = reader.list()?;
        assert_eq!(listed.len(), expected.len());
        for ((name, dtype, shape), (want_name, want)) in listed.iter().zip(&expected) {
            assert_eq!((name, *dtype, shape), (want_name, want.dtype(), &Shape::new(want.shape())));
            assert_eq!(&reader.read(name)?, want, "{name} at step {step}");
        }
    }
    Ok(())
}

#[test]
fn reads_savev2_tensors_exactly() -> Result<()> {
    let reader = BundleReader::open(golden_dir().join("savev2").join("tensors"))?;
    let header = reader.header();
    assert_eq!((header.num_shards, header.version.as_ref().map(|v| v.producer)), (1, Some(1)));
    let expected = golden_tensors()?;
    assert_eq!(reader.keys().count(), expected.len());
    for (name, want) in &expected {
        let got = reader.read(name)?;
        assert_eq!(&got, want, "{name}");
        if want.dtype() == DType::F64 {
            // Bit-exact, subnormals included.
            let bits =
                |t: &Tensor| t.to_vec::<f64>().map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            assert_eq!(bits(&got)?, bits(want)?);
        }
    }
    Ok(())
}

#[test]
fn writes_savev2_bytes_exactly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ours = dir.path().join("tensors");
    write(&ours, &golden_tensors()?)?;
    assert_same_files(&ours, &golden_dir().join("savev2").join("tensors"))
}

#[test]
fn writes_tf1_saver_bytes_exactly() -> Result<()> {
    // TF1's Saver adds variables sorted by name; so do we here.
    let dir = tempfile::tempdir()?;
    let ours = dir.path().join("model.ckpt-21");
    write(&ours, &saver_variables(21)?)?;
    assert_same_files(&ours, &golden_dir().join("saver").join("model.ckpt-21"))
}

#[test]
fn writes_the_state_file_as_tensorflow_does() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let abs = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    CheckpointState {
        model_checkpoint_path: abs("model.ckpt-21"),
        all_model_checkpoint_paths: vec![abs("model.ckpt-10"), abs("model.ckpt-21")],
        ..Default::default()
    }
    .write(dir.path(), PathStyle::Relative)?;
    let ours = std::fs::read(dir.path().join("checkpoint"))?;
    let theirs = std::fs::read(golden_dir().join("saver").join("checkpoint"))?;
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    Ok(())
}
