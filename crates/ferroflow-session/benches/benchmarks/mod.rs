//! Benchmark groups, one topic per file.

pub mod cnn_step;
pub mod conv;
