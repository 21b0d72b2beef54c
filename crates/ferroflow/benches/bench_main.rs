//! One training step of the reference models (`tf1_bench.py`), and the forward pass alone, intra-op
//! threads pinned to 1 and 2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ferroflow::prelude::*;
use ferroflow::{build_reference, reference_batch, ReferenceModel};
use std::hint::black_box;

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgd_step");
    // The CNN step takes ~10 ms: criterion's default 100 samples would take minutes.
    group.sample_size(20);
    let models = [("tiny", ReferenceModel::Tiny), ("mlp", ReferenceModel::Mlp), ("cnn", ReferenceModel::Cnn)];
    for (name, model) in models {
        for threads in [1usize, 2] {
            let mut g = GraphBuilder::new();
            let m = build_reference(&mut g, model).unwrap();
            let options = SessionOptions { intra_op_parallelism_threads: threads, ..Default::default() };
            let mut sess = DirectSession::with_options(g.finalize(), options);
            sess.run(m.init, &[]).unwrap();
            let (xb, yb) = reference_batch(model).unwrap();
            let feeds = [(m.x, xb), (m.y, yb)];
            let fetch = Fetch::List(vec![m.train_op.into(), m.loss.into()]);
            group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, _| {
                b.iter(|| black_box(sess.run(fetch.clone(), &feeds).unwrap()))
            });
            group.bench_with_input(BenchmarkId::new(format!("{name}_forward"), threads), &threads, |b, _| {
                b.iter(|| black_box(sess.run(m.loss, &feeds).unwrap()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);
