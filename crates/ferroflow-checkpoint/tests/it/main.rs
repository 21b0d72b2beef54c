//! Integration tests of ferroflow-checkpoint: golden files written by TensorFlow, TensorFlow reading our
//! files, corruption handling, crash safety and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod corruption;
mod crash_safety;
mod fixtures;
mod golden;
mod interop_tf;
mod properties;
