//! Benchmark groups, one topic per file.

pub(crate) mod event_writer;
