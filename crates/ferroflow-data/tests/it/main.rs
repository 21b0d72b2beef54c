//! Integration tests of ferroflow-data: datasets, iterator ops in a `DirectSession`, resume, errors,
//! formats and TensorFlow interop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod errors;
mod formats;
mod resume;
mod session;
mod tf_interop;
mod transformations;

use ferroflow_core::{Result, Tensor};
use ferroflow_data::{Compression, DatasetExt, DatasetRef, Element};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Example, Feature};
use ferroflow_record::RecordWriter;
use std::path::Path;

/// Writes records to a TFRecord file.
pub fn write_tfrecord(path: &Path, records: &[Vec<u8>], compression: Compression) -> Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = RecordWriter::with_compression(file, compression);
    for r in records {
        w.write_record(r)?;
    }
    w.into_inner()?;
    Ok(())
}

/// An Example with `x` = [i, -i] floats, `label` = i and `id` = "r<i>".
pub fn example(i: i64) -> Vec<u8> {
    Example::new([
        ("x".to_string(), Feature::floats(vec![i as f32, -(i as f32)])),
        ("label".to_string(), Feature::int64s(vec![i])),
        ("id".to_string(), Feature::bytes(vec![format!("r{i}").into_bytes()])),
    ])
    .encode_to_vec()
}

/// The i64 scalars of a dataset's elements (first component).
pub fn ints(ds: &DatasetRef) -> Result<Vec<i64>> {
    ds.collect_elements()?.iter().map(|e| e[0].scalar_value::<i64>()).collect()
}

/// The first component of each element as a flat i64 vector.
pub fn int_rows(elements: &[Element]) -> Result<Vec<Vec<i64>>> {
    elements.iter().map(|e| e[0].to_vec::<i64>()).collect()
}

/// A string scalar's bytes as text.
pub fn text(t: &Tensor) -> String {
    String::from_utf8_lossy(&t.scalar_value::<Vec<u8>>().unwrap_or_default()).into_owned()
}
