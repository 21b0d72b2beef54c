#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Benchmarks of ferroflow-data. `benches/tf_data_bench.py` measures TensorFlow's `tf.data` on the
//! same files.

mod benchmarks;

criterion::criterion_main!(benchmarks::tfrecord_pipeline::benches, benchmarks::prefetch_step::benches);
