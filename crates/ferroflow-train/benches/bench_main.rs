//! Criterion benchmarks of ferroflow-train: the per-run overhead of the monitored-session stack.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod benchmarks;

criterion::criterion_main!(benchmarks::monitored_session::benches);
