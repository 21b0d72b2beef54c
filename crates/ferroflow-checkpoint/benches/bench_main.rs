//! Criterion benchmarks of ferroflow-checkpoint. The 400 MB comparison with TensorFlow and `dd` is
//! `scripts/checkpoint_bench.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod benchmarks;

criterion::criterion_main!(benchmarks::bundle::benches);
