//! Criterion benchmarks of ferroflow-session.

mod benchmarks;

criterion::criterion_main!(benchmarks::conv::benches);
