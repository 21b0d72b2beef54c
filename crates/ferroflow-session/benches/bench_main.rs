//! Criterion benchmarks of ferroflow-session.

mod benchmarks;

criterion::criterion_main!(benchmarks::cnn_step::benches, benchmarks::conv::benches);
