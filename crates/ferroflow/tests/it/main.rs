//! End-to-end tests of the facade: training on the embedded digits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod digits;
mod reference_models;
