//! Integration tests of ferroflow-session: one binary, one module per area (sessions, optimizers, op
//! kernels and gradients against finite differences, training an MLP and a small CNN).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod array_ops;
mod cnn_digits;
mod conv_ops;
mod gradients;
mod gradients_select;
mod mlp_step;
mod optimizers;
mod session;

/// The tensors of a fetched list, in order.
pub(crate) fn tensors(f: ferroflow_session::Fetched) -> Vec<ferroflow_core::Tensor> {
    match f {
        ferroflow_session::Fetched::List(items) => {
            items.into_iter().map(|i| i.into_tensor().unwrap()).collect()
        }
        other => vec![other.into_tensor().unwrap()],
    }
}
