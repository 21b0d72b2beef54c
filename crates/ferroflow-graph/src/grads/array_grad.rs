//! Gradients of array ops (TF's `array_grad.py`).

use crate::gradients::GradientFn;
use crate::{GraphBuilder, Operation, Output};
use ferroflow_core::Result;

pub(super) const GRADIENTS: &[(&str, GradientFn)] =
    &[("Identity", identity_grad), ("Reshape", reshape_grad), ("PlaceholderWithDefault", identity_grad)];

fn identity_grad(
    _: &mut GraphBuilder,
    _: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    Ok(vec![grads[0]])
}

fn reshape_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let x = g.node(op)?.inputs[0];
    let dx = match crate::ops::array_ops::static_shape(g, x) {
        Some(s) => g.reshape(dy, &s.dims().iter().map(|&d| d as i64).collect::<Vec<_>>())?,
        None => {
            let shape = g.shape_of(x)?;
            g.reshape_to(dy, shape)?
        }
    };
    Ok(vec![Some(dx), None])
}
