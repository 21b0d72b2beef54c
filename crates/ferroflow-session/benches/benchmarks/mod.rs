//! Benchmark groups, one topic per file.

pub mod conv;
