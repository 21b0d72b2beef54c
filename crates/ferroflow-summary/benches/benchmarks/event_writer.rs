//! Scalar `add_summary` throughput, counted per scalar value: serialization on the caller, queueing,
//! framing with CRCs and buffered writes on the writer thread.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ferroflow_proto::Summary;
use ferroflow_summary::{scalar, FileWriter};
use std::hint::black_box;

fn add_summary_scalars(c: &mut Criterion) {
    let mut group = c.benchmark_group("add_summary_scalars");
    for values_per_event in [1usize, 10, 100] {
        let dir = tempfile::tempdir().unwrap();
        let writer = FileWriter::new(dir.path()).unwrap();
        let mut summary = Summary::default();
        for i in 0..values_per_event {
            summary.value.extend(scalar(&format!("layer_{i}/loss"), i as f32 * 0.5).value);
        }
        let mut step = 0i64;
        group.throughput(Throughput::Elements(values_per_event as u64));
        group.bench_with_input(BenchmarkId::from_parameter(values_per_event), &summary, |b, summary| {
            b.iter(|| {
                step += 1;
                writer.add_summary(black_box(summary), step).unwrap();
            })
        });
        // Make sure everything queued was also written, so the thread is not left behind.
        writer.close().unwrap();
    }
    group.finish();
}

/// Building the summary too, as a hook that fetched one scalar per step does.
fn build_and_add_one_scalar(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    let mut group = c.benchmark_group("build_and_add_scalar");
    group.throughput(Throughput::Elements(1));
    let mut step = 0i64;
    group.bench_function("loss", |b| {
        b.iter(|| {
            step += 1;
            writer.add_summary(&scalar("loss", black_box(0.25)), step).unwrap();
        })
    });
    group.finish();
    writer.close().unwrap();
}

criterion_group!(benches, add_summary_scalars, build_and_add_one_scalar);
