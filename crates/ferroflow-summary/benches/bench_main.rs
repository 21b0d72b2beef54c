#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Benchmarks of ferroflow-summary.

mod benchmarks;

criterion::criterion_main!(benchmarks::event_writer::benches);
