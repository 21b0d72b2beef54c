//! Integration tests of ferroflow-session: op kernels and gradients against finite differences, and
//! training a small CNN.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod array_ops;
mod cnn_digits;
mod conv_ops;
mod gradients;

/// The tensors of a fetched list, in order.
pub(crate) fn tensors(f: ferroflow_session::Fetched) -> Vec<ferroflow_core::Tensor> {
    match f {
        ferroflow_session::Fetched::List(items) => {
            items.into_iter().map(|i| i.into_tensor().unwrap()).collect()
        }
        other => vec![other.into_tensor().unwrap()],
    }
}
