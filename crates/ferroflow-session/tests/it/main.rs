//! Integration tests of ferroflow-session: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mlp_step;
mod optimizers;
mod session;
