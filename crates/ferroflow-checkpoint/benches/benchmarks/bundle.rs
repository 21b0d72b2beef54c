use super::model;
use criterion::{criterion_group, Criterion, Throughput};
use ferroflow_checkpoint::{BundleReader, BundleWriter, Table, TableBuilder, TableOptions};
use std::hint::black_box;

/// Save and restore of a 16 MB model (8 tensors of 512K f32), reported in bytes per second.
fn save_restore(c: &mut Criterion) {
    let tensors = model(8, 1 << 19);
    let bytes = (8 * (1 << 19) * 4) as u64;
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("bench");
    let mut group = c.benchmark_group("bundle_16MB");
    group.throughput(Throughput::Bytes(bytes)).sample_size(10);
    group.bench_function("save", |b| {
        b.iter(|| {
            let mut w = BundleWriter::new(&prefix).unwrap();
            for (name, t) in &tensors {
                w.add(name, t).unwrap();
            }
            w.finish().unwrap();
        })
    });
    group.bench_function("restore", |b| {
        b.iter(|| black_box(BundleReader::open(&prefix).unwrap().read_all().unwrap()))
    });
    group.finish();
}

/// Building and parsing a 20000-entry index table (TF1 checkpoints of large models have this many keys).
fn index_table(c: &mut Criterion) {
    let entries: Vec<(Vec<u8>, Vec<u8>)> =
        (0..20_000).map(|i| (format!("layer_{i:05}/kernel/Adam").into_bytes(), vec![7u8; 24])).collect();
    let mut group = c.benchmark_group("index_table_20k");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("build", |b| {
        b.iter(|| {
            let mut t = TableBuilder::new(TableOptions::default());
            for (k, v) in &entries {
                t.add(k, v).unwrap();
            }
            black_box(t.finish())
        })
    });
    let mut t = TableBuilder::new(TableOptions::default());
    for (k, v) in &entries {
        t.add(k, v).unwrap();
    }
    let bytes = t.finish();
    group.bench_function("parse", |b| b.iter(|| black_box(Table::from_bytes(&bytes).unwrap())));
    group.finish();
}

criterion_group!(benches, save_restore, index_table);
