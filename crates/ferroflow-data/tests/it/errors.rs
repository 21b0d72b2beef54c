//! Errors: corrupt and missing files, bad specs, and their codes and messages.

use crate::{example, write_tfrecord};
use ferroflow_core::{Code, DType, Result, Tensor};
use ferroflow_data::{
    make_one_shot_iterator, parse_example_dataset, Compression, CsvDataset, DatasetExt, FeatureSpec,
    FixedLenFeature, IdxDataset, TFRecordDataset, TextLineDataset,
};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::{DirectSession, SessionExt};

#[test]
fn corrupt_tfrecord_is_data_loss_naming_file_and_offset() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bad.tfrecord");
    write_tfrecord(&path, &[b"first".to_vec(), b"second".to_vec(), b"third".to_vec()], Compression::None)?;
    let mut bytes = std::fs::read(&path)?;
    // Flip a payload byte of the second record (which starts at byte 21).
    bytes[21 + 12] ^= 0xff;
    std::fs::write(&path, bytes)?;

    let ds = TFRecordDataset::new(vec![path.clone()], Compression::None)?.into_ref();
    let mut g = GraphBuilder::new();
    let next = make_one_shot_iterator(&mut g, &ds)?.get_next(&mut g)?;
    let mut sess = DirectSession::new(g.finalize());
    assert_eq!(crate::text(sess.run(next[0], &[])?.tensor()?), "first");
    let err = sess.run(next[0], &[]).unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    assert!(err.message().contains("bad.tfrecord"), "names the file: {err}");
    assert!(err.message().contains("21"), "names the offset: {err}");

    // ignore_errors drops what cannot be read and goes on (here: to the end of the only file).
    let good = dir.path().join("good.tfrecord");
    write_tfrecord(&good, &[b"fourth".to_vec()], Compression::None)?;
    let ds = TFRecordDataset::new(vec![path.clone(), good], Compression::None)?.into_ref().ignore_errors();
    let got: Vec<String> = ds.collect_elements()?.iter().map(|e| crate::text(&e[0])).collect();
    assert_eq!(got, vec!["first", "fourth"]);

    // Or the reader skips just the corrupt record.
    let ds = TFRecordDataset::new(vec![path], Compression::None)?.skip_corrupted_records(true).into_ref();
    let got: Vec<String> = ds.collect_elements()?.iter().map(|e| crate::text(&e[0])).collect();
    assert_eq!(got, vec!["first", "third"]);
    Ok(())
}

#[test]
fn truncated_tfrecord_is_data_loss() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cut.tfrecord");
    write_tfrecord(&path, &[b"whole".to_vec(), b"cut short".to_vec()], Compression::None)?;
    let bytes = std::fs::read(&path)?;
    std::fs::write(&path, &bytes[..bytes.len() - 3])?;
    let mut it =
        TFRecordDataset::new(vec![path], Compression::None)?.into_ref().make_iterator(Default::default())?;
    assert!(it.next()?.is_some());
    let err = it.next().unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    assert!(err.message().contains("cut.tfrecord"), "{err}");
    Ok(())
}

#[test]
fn missing_files_are_not_found_naming_them() -> Result<()> {
    let missing = std::path::PathBuf::from("/nonexistent/dir/train-00000.tfrecord");
    let sources: Vec<ferroflow_data::DatasetRef> = vec![
        TFRecordDataset::new(vec![missing.clone()], Compression::None)?.into_ref(),
        TextLineDataset::new(vec![missing.clone()], Compression::Gzip)?.into_ref(),
        CsvDataset::new(vec![missing.clone()], vec![Tensor::scalar(0i64)])?.into_ref(),
    ];
    for ds in sources {
        let mut g = GraphBuilder::new();
        let next = make_one_shot_iterator(&mut g, &ds)?.get_next(&mut g)?;
        let mut sess = DirectSession::new(g.finalize());
        let err = sess.run(next[0], &[]).unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{err}");
        assert!(err.message().contains("train-00000.tfrecord"), "{err}");
        assert!(sess.run(next[0], &[]).unwrap_err().is_end_of_input(), "then the input ends");
    }
    let err = IdxDataset::new(&missing).unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("train-00000.tfrecord"), "{err}");
    Ok(())
}

#[test]
fn bad_specs_fail_at_build_time() -> Result<()> {
    let records = ferroflow_data::from_tensors(vec![Tensor::string(example(1))])?;
    let bad_feature = FeatureSpec::new(vec![("x".into(), FixedLenFeature::new(DType::F64, &[2]))]);
    assert_eq!(bad_feature.unwrap_err().code(), Code::InvalidArgument);
    let spec = FeatureSpec::new(vec![("x".into(), FixedLenFeature::new(DType::F32, &[2]))])?;
    let not_strings = ferroflow_data::range(0, 1, 1)?;
    assert_eq!(parse_example_dataset(&not_strings, spec.clone()).unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(parse_example_dataset(&records, spec)?.collect_elements()?.len(), 1);
    let bad_spec = ferroflow_data::ElementSpec::new(vec![DType::F32], vec![]);
    assert_eq!(bad_spec.unwrap_err().code(), Code::InvalidArgument);
    let csv = CsvDataset::new(vec!["a.csv".into()], vec![Tensor::scalar(true)]);
    assert_eq!(csv.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(TFRecordDataset::new(vec![], Compression::None).unwrap_err().code(), Code::InvalidArgument);
    Ok(())
}

#[test]
fn parse_errors_surface_from_run() -> Result<()> {
    let records = ferroflow_data::from_tensors(vec![Tensor::string(example(1))])?;
    let spec = FeatureSpec::new(vec![("weight".into(), FixedLenFeature::new(DType::F32, &[]))])?;
    let ds = parse_example_dataset(&records, spec)?;
    let mut g = GraphBuilder::new();
    let next = make_one_shot_iterator(&mut g, &ds)?.get_next(&mut g)?;
    let mut sess = DirectSession::new(g.finalize());
    let err = sess.run(next[0], &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("Feature: weight (data type: float) is required"), "{err}");
    Ok(())
}
