#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of ferroflow-record: TensorFlow interop and property tests.

mod round_trip;
mod tf_interop;
