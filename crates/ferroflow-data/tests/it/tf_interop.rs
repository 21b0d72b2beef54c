//! TensorFlow interop: we read TFRecord Examples written by TensorFlow (golden files made by
//! `tools/make_fixtures.py`), and TensorFlow's `tf.data` reads the ones we write.

use crate::{example, write_tfrecord};
use ferroflow_core::{DType, Result};
use ferroflow_data::{
    make_one_shot_iterator, parse_example_dataset, Compression, DatasetExt, FeatureSpec, FixedLenFeature,
    TFRecordDataset,
};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::{DirectSession, SessionExt};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

#[test]
fn reads_examples_written_by_tensorflow() -> Result<()> {
    let spec = FeatureSpec::new(vec![
        ("x".into(), FixedLenFeature::new(DType::F32, &[2])),
        ("label".into(), FixedLenFeature::new(DType::I64, &[])),
        ("name".into(), FixedLenFeature::new(DType::String, &[])),
    ])?;
    for (file, compression) in
        [("tf_examples.tfrecord", Compression::None), ("tf_examples.tfrecord.gz", Compression::Gzip)]
    {
        let records = TFRecordDataset::new(vec![fixture(file)], compression)?.into_ref();
        let ds = parse_example_dataset(&records, spec.clone())?.batch(5, false)?;
        let mut g = GraphBuilder::new();
        let next = make_one_shot_iterator(&mut g, &ds)?.get_next(&mut g)?;
        let mut sess = DirectSession::new(g.finalize());
        let out = sess.run(next.clone(), &[])?;
        assert_eq!(
            out.get(0)?.tensor()?.to_vec::<f32>()?,
            vec![0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 1.5, 3.0, 2.0, 4.0],
            "{file}"
        );
        assert_eq!(out.get(1)?.tensor()?.to_vec::<i64>()?, vec![0, 1, 2, 3, 4]);
        assert_eq!(out.get(2)?.tensor()?.to_vec::<Vec<u8>>()?[4], b"ex4".to_vec());
        assert!(sess.run(next[0], &[]).unwrap_err().is_end_of_input());
    }
    Ok(())
}

#[test]
fn tensorflow_reads_our_tfrecord_examples() -> Result<()> {
    let Some(py) = ferroflow_oracle::python("tensorflow_reads_our_tfrecord_examples")
        .map_err(ferroflow_core::Error::internal)?
    else {
        return Ok(());
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools").join("read_tfrecord_examples.py");
    let dir = tempfile::tempdir()?;
    let mut args = vec![script.display().to_string()];
    let mut paths = Vec::new();
    for (name, compression, tf_name) in [
        ("ours.tfrecord", Compression::None, "NONE"),
        ("ours.tfrecord.gz", Compression::Gzip, "GZIP"),
        ("ours.tfrecord.z", Compression::Zlib, "ZLIB"),
    ] {
        let path = dir.path().join(name);
        write_tfrecord(&path, &(0..4).map(example).collect::<Vec<_>>(), compression)?;
        args.push(format!("{tf_name}:{}", path.display()));
        paths.push((path, compression));
    }
    // One interpreter for all files: starting TensorFlow takes seconds.
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ferroflow_oracle::run(&py, &arg_refs).map_err(ferroflow_core::Error::internal)?;
    let sections: Vec<&str> = out.split("== ").filter(|s| !s.is_empty()).collect();
    assert_eq!(sections.len(), 3, "{out}");
    for (section, (path, compression)) in sections.iter().zip(paths) {
        let lines: Vec<&str> = section.lines().skip(1).collect();
        assert_eq!(lines.len(), 4, "{}: {section}", path.display());
        assert_eq!(lines[3], r#"{"x": [3.0, -3.0], "label": 3, "id": "r3"}"#, "{}", path.display());
        // And we read our own file back the same way.
        let back = TFRecordDataset::new(vec![path], compression)?.into_ref().collect_elements()?;
        assert_eq!(back.len(), 4);
    }
    Ok(())
}
