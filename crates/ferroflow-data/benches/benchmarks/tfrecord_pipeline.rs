//! Reading TFRecord files of ~1 KB Examples, parsed into batches of 128: records per second.

use super::{files, session_memory_settings, spec, FILES, RECORDS};
use criterion::{criterion_group, Criterion, Throughput};
use ferroflow_core::{DType, PartialShape};
use ferroflow_data::{parse_example, Compression, DatasetExt, ElementSpec, TFRecordDataset};
use std::hint::black_box;

fn tfrecord_parse_batch(c: &mut Criterion) {
    let files = files();
    let _session = session_memory_settings();
    let mut group = c.benchmark_group("tfrecord_parse_batch128");
    group.sample_size(10);
    group.throughput(Throughput::Elements((FILES * RECORDS) as u64));
    let records = TFRecordDataset::new(files, Compression::None).unwrap().into_ref();

    // TF's recommended order: batch the serialized records, then parse the batch.
    let spec_b = spec();
    let batched = records
        .batch(128, false)
        .unwrap()
        .map(
            ElementSpec::new(
                vec![DType::F32, DType::I64],
                vec![PartialShape::new(vec![None, Some(super::FLOATS)]), PartialShape::new(vec![None])],
            )
            .unwrap(),
            move |e| parse_example(&e[0], &spec_b),
        )
        .unwrap();
    group.bench_function("batch_then_parse", |b| {
        b.iter(|| {
            let mut it = batched.make_iterator(Default::default()).unwrap();
            let mut n = 0;
            while let Some(e) = it.next().unwrap() {
                n += e[1].num_elements();
            }
            black_box(n)
        })
    });

    // Parse each record, then batch.
    let per_record =
        ferroflow_data::parse_example_dataset(&records, spec()).unwrap().batch(128, false).unwrap();
    group.bench_function("parse_then_batch", |b| {
        b.iter(|| {
            let mut it = per_record.make_iterator(Default::default()).unwrap();
            let mut n = 0;
            while let Some(e) = it.next().unwrap() {
                n += e[1].num_elements();
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, tfrecord_parse_batch);
