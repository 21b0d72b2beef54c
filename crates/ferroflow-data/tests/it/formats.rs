//! File sources: TFRecord (plain, GZIP, ZLIB, several files), text lines, CSV, IDX, and Example
//! parsing into batches.

use crate::{example, write_tfrecord};
use ferroflow_core::{Code, DType, PartialShape, Result, Tensor};
use ferroflow_data::{
    encode_idx, parse_example, parse_example_dataset, zip, Compression, CsvDataset, DatasetExt, FeatureSpec,
    FixedLenFeature, IdxDataset, TFRecordDataset, TextLineDataset,
};
use std::io::Write;

#[test]
fn tfrecord_files_in_every_compression() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut files = Vec::new();
    for (i, c) in [Compression::None, Compression::Gzip, Compression::Zlib].into_iter().enumerate() {
        let path = dir.path().join(format!("f{i}.tfrecord"));
        let records: Vec<Vec<u8>> = (0..3).map(|j| format!("{i}-{j}").into_bytes()).collect();
        write_tfrecord(&path, &records, c)?;
        let ds = TFRecordDataset::new(vec![path.clone()], c)?.into_ref();
        let got: Vec<String> = ds.collect_elements()?.iter().map(|e| crate::text(&e[0])).collect();
        assert_eq!(got, vec![format!("{i}-0"), format!("{i}-1"), format!("{i}-2")], "{c:?}");
        if c == Compression::None {
            files.push(path);
        }
    }
    files.push(files[0].clone());
    let ds = TFRecordDataset::new(files, Compression::None)?.into_ref();
    assert_eq!(ds.collect_elements()?.len(), 6, "files are read one after another");
    Ok(())
}

#[test]
fn examples_parse_into_batches() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ex.tfrecord");
    write_tfrecord(&path, &(0..10).map(example).collect::<Vec<_>>(), Compression::None)?;
    let spec = FeatureSpec::new(vec![
        ("x".into(), FixedLenFeature::new(DType::F32, &[2])),
        ("label".into(), FixedLenFeature::new(DType::I64, &[])),
        ("id".into(), FixedLenFeature::new(DType::String, &[])),
        ("weight".into(), FixedLenFeature::new(DType::F32, &[]).with_default(Tensor::scalar(1.0f32))),
    ])?;
    let records = TFRecordDataset::new(vec![path], Compression::None)?.into_ref();
    // Per example, then batched ...
    let ds = parse_example_dataset(&records, spec.clone())?.batch(4, true)?;
    assert_eq!(ds.element_spec().shapes[0], PartialShape::known(&[4, 2]));
    let batches = ds.collect_elements()?;
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1][1].to_vec::<i64>()?, vec![4, 5, 6, 7]);
    assert_eq!(batches[0][0].to_vec::<f32>()?[..4], [0.0, -0.0, 1.0, -1.0]);
    assert_eq!(batches[0][3].to_vec::<f32>()?, vec![1.0; 4]);
    // ... or batched, then parsed (TF's faster order).
    let raw = records.batch(4, true)?.collect_elements()?;
    let parsed = parse_example(&raw[1][0], &spec)?;
    assert_eq!(parsed[1].to_vec::<i64>()?, vec![4, 5, 6, 7]);
    assert_eq!(crate::text(&ferroflow_data::batch_util::slice(&parsed[2], 0)?), "r4");
    Ok(())
}

#[test]
fn text_lines_plain_and_gzip() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let plain = dir.path().join("a.txt");
    std::fs::write(&plain, "one\r\ntwo\n\nlast without newline")?;
    let gz = dir.path().join("b.txt.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz)?, flate2::Compression::default());
    enc.write_all(b"alpha\nbeta\n")?;
    enc.finish()?;
    let lines = |ds: ferroflow_data::DatasetRef| -> Result<Vec<String>> {
        Ok(ds.collect_elements()?.iter().map(|e| crate::text(&e[0])).collect())
    };
    assert_eq!(
        lines(TextLineDataset::new(vec![plain], Compression::None)?.into_ref())?,
        vec!["one", "two", "", "last without newline"]
    );
    assert_eq!(lines(TextLineDataset::new(vec![gz], Compression::Gzip)?.into_ref())?, vec!["alpha", "beta"]);
    Ok(())
}

#[test]
fn csv_records_with_defaults_quotes_and_header() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data.csv");
    std::fs::write(&path, "name,age,score\n\"Smith, J\",42,1.5\nDoe,,2\n\"multi\nline\",7,\n")?;
    let defaults = vec![Tensor::vector(Vec::<Vec<u8>>::new()), Tensor::scalar(-1i32), Tensor::scalar(0.0f64)];
    let ds = CsvDataset::new(vec![path.clone()], defaults)?.header(true).into_ref();
    assert_eq!(ds.element_spec().dtypes, vec![DType::String, DType::I32, DType::F64]);
    let rows = ds.collect_elements()?;
    assert_eq!(rows.len(), 3);
    assert_eq!(crate::text(&rows[0][0]), "Smith, J");
    assert_eq!(rows[0][1].scalar_value::<i32>()?, 42);
    assert_eq!(rows[1][1].scalar_value::<i32>()?, -1, "default for an empty field");
    assert_eq!(crate::text(&rows[2][0]), "multi\nline");
    assert_eq!(rows[2][2].scalar_value::<f64>()?, 0.0);

    let selected = CsvDataset::new(vec![path.clone()], vec![Tensor::scalar(0.0f32)])?
        .header(true)
        .select_cols(vec![2])?
        .into_ref();
    assert_eq!(selected.collect_elements()?.len(), 3);

    // A required field that is missing, and a number that is not one.
    let required = vec![
        Tensor::vector(Vec::<Vec<u8>>::new()),
        Tensor::vector(Vec::<i32>::new()),
        Tensor::scalar(0.0f64),
    ];
    let err = CsvDataset::new(vec![path.clone()], required)?
        .header(true)
        .into_ref()
        .collect_elements()
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("Field 1 is required but missing in record 1"), "{err}");
    let wrong = vec![Tensor::scalar(0i64), Tensor::scalar(0i32), Tensor::scalar(0.0f64)];
    let err = CsvDataset::new(vec![path], wrong)?.header(true).into_ref().collect_elements().unwrap_err();
    assert!(err.message().contains("is not a valid int64"), "{err}");
    Ok(())
}

#[test]
fn idx_images_and_labels_like_mnist() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let images = Tensor::from_vec(&[5, 2, 3], (0..30u8).collect())?;
    let labels = Tensor::vector(vec![3u8, 1, 4, 1, 5]);
    let img_path = dir.path().join("images-idx3-ubyte");
    std::fs::write(&img_path, encode_idx(&images)?)?;
    // Labels gzipped, as MNIST is distributed.
    let lbl_path = dir.path().join("labels-idx1-ubyte.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&lbl_path)?, flate2::Compression::default());
    enc.write_all(&encode_idx(&labels)?)?;
    enc.finish()?;
    let ds = zip(&[IdxDataset::new(&img_path)?.into_ref(), IdxDataset::new(&lbl_path)?.into_ref()])?;
    assert_eq!(ds.element_spec().shapes, vec![PartialShape::known(&[2, 3]), PartialShape::scalar()]);
    let batches = ds.batch(2, false)?.collect_elements()?;
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0][0].shape(), &[2, 2, 3]);
    assert_eq!(batches[0][0].to_vec::<u8>()?[6..9], [6, 7, 8]);
    assert_eq!(batches[2][1].to_vec::<u8>()?, vec![5]);
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"PK\x03\x04 definitely not idx")?;
    assert_eq!(IdxDataset::new(&junk).unwrap_err().code(), Code::DataLoss);
    Ok(())
}
