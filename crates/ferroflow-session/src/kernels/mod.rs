//! The built-in CPU kernels, one file per op family.

pub mod array;
pub mod batch_norm;
pub mod conv;
pub mod cwise;
pub mod dropout;
pub mod math;
pub mod matmul;
pub mod nn;
pub mod pooling;
pub mod random;
pub mod state;
pub mod summary;
pub mod training;

use crate::kernel::KernelFactory;
use std::collections::HashMap;

pub(crate) fn builtin() -> HashMap<String, KernelFactory> {
    let mut m = HashMap::new();
    for (name, f) in array::KERNELS
        .iter()
        .chain(math::KERNELS)
        .chain(cwise::KERNELS)
        .chain(matmul::KERNELS)
        .chain(nn::KERNELS)
        .chain(random::KERNELS)
        .chain(state::KERNELS)
        .chain(conv::KERNELS)
        .chain(pooling::KERNELS)
        .chain(training::KERNELS)
        .chain(summary::KERNELS)
        .chain(batch_norm::KERNELS)
        .chain(dropout::KERNELS)
    {
        m.insert((*name).to_string(), *f);
    }
    m
}

/// Applies a generic expression to a float tensor's array (f32 or f64), rewrapping the result.
#[macro_export]
macro_rules! float_op {
    ($t:expr, $a:ident => $body:expr, $what:expr) => {
        match $t {
            ferroflow_core::Tensor::F32($a) => Ok(ferroflow_core::Tensor::from($body)),
            ferroflow_core::Tensor::F64($a) => Ok(ferroflow_core::Tensor::from($body)),
            other => Err(ferroflow_core::Error::invalid_argument(format!(
                "{} expects a float tensor, got {}",
                $what,
                other.dtype()
            ))),
        }
    };
}

/// Applies a generic expression to a numeric tensor's array (floats and integers).
#[macro_export]
macro_rules! numeric_op {
    ($t:expr, $a:ident => $body:expr, $what:expr) => {
        match $t {
            ferroflow_core::Tensor::F32($a) => Ok(ferroflow_core::Tensor::from($body)),
            ferroflow_core::Tensor::F64($a) => Ok(ferroflow_core::Tensor::from($body)),
            ferroflow_core::Tensor::I32($a) => Ok(ferroflow_core::Tensor::from($body)),
            ferroflow_core::Tensor::I64($a) => Ok(ferroflow_core::Tensor::from($body)),
            ferroflow_core::Tensor::U8($a) => Ok(ferroflow_core::Tensor::from($body)),
            other => Err(ferroflow_core::Error::invalid_argument(format!(
                "{} expects a numeric tensor, got {}",
                $what,
                other.dtype()
            ))),
        }
    };
}

/// Reads an int32 or int64 tensor as `i64`s (shape and axis arguments).
pub(crate) fn int_values(t: &ferroflow_core::Tensor, what: &str) -> ferroflow_core::Result<Vec<i64>> {
    match t {
        ferroflow_core::Tensor::I32(a) => Ok(a.iter().map(|&v| i64::from(v)).collect()),
        ferroflow_core::Tensor::I64(a) => Ok(a.iter().copied().collect()),
        other => Err(ferroflow_core::Error::invalid_argument(format!(
            "{what} must be an int32 or int64 tensor, got {}",
            other.dtype()
        ))),
    }
}
