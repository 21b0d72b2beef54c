#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of ferroflow-session: one binary, one module per area.

mod mlp_step;
