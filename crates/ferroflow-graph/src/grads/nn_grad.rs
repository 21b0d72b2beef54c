//! Gradients of activations, softmax and losses (TF's `nn_grad.py`).

use super::math_grad::input;
use crate::gradients::GradientFn;
use crate::ops::array_ops::static_shape;
use crate::{GraphBuilder, Operation, Output};
use ferroflow_core::{Error, Result, Tensor};

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[
    ("Relu", relu_grad),
    ("Relu6", relu6_grad),
    ("LeakyRelu", leaky_relu_grad),
    ("Elu", elu_grad),
    ("Selu", selu_grad),
    ("Softplus", softplus_grad),
    ("Softmax", softmax_grad),
    ("LogSoftmax", log_softmax_grad),
    ("SparseSoftmaxCrossEntropyWithLogits", sparse_softmax_xent_grad),
    ("SoftmaxCrossEntropyWithLogits", softmax_xent_grad),
    ("BiasAdd", bias_add_grad),
    ("CheckNumerics", check_numerics_grad),
    ("TopKV2", top_k_grad),
];

/// The activation's gradient kernel applied to `dy` and the op's output (TF's choice for ReLU, ReLU6,
/// ELU and SELU: the output carries all the kernel needs and lets the input buffer be freed early).
fn from_output(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
    grad_op: &str,
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    Ok(vec![Some(g.activation_grad(grad_op, dy, op.output(0), None)?)])
}

fn relu_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    from_output(g, op, grads, "ReluGrad")
}

fn relu6_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    from_output(g, op, grads, "Relu6Grad")
}

fn elu_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    from_output(g, op, grads, "EluGrad")
}

fn selu_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    from_output(g, op, grads, "SeluGrad")
}

fn leaky_relu_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let alpha = g.node(op)?.attrs.float("alpha")?;
    let x = input(g, op, 0)?;
    Ok(vec![Some(g.activation_grad("LeakyReluGrad", dy, x, Some(alpha))?)])
}

fn softplus_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let x = input(g, op, 0)?;
    Ok(vec![Some(g.activation_grad("SoftplusGrad", dy, x, None)?)])
}

/// TF's `_SoftmaxGrad`: `(dy - sum(dy * s, -1)) * s`.
fn softmax_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let s = op.output(0);
    let ds = g.mul(dy, s)?;
    let sum = g.reduce_sum(ds, Some(&[-1]), true)?;
    let centered = g.sub(dy, sum)?;
    Ok(vec![Some(g.mul(centered, s)?)])
}

/// TF's `_LogSoftmaxGrad`: `dy - sum(dy, -1) * exp(y)`.
fn log_softmax_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let softmax = g.exp(op.output(0))?;
    let sum = g.reduce_sum(dy, Some(&[-1]), true)?;
    let scaled = g.mul(sum, softmax)?;
    Ok(vec![Some(g.sub(dy, scaled)?)])
}

/// The gradient of a fused cross-entropy with respect to the logits: the per-example loss gradient
/// times the backprop the forward kernel already computed. Differentiating the backprop output itself
/// is refused, as TF's `prevent_gradient` does.
fn xent_logits_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Option<Output>> {
    if grads.get(1).copied().flatten().is_some() {
        return Err(Error::unimplemented(format!(
            "gradient of the backprop output of '{}' is not supported (TF's prevent_gradient: second derivative of a fused cross-entropy)",
            g.op_name(op)
        )));
    }
    let Some(dloss) = grads[0] else { return Ok(None) };
    let column = g.reshape(dloss, &[-1, 1])?;
    Ok(Some(g.mul(column, op.output(1))?))
}

fn sparse_softmax_xent_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    Ok(vec![xent_logits_grad(g, op, grads)?, None])
}

/// Logits as for the sparse version; labels get `dloss * -log_softmax(logits)` (TF's `_v2` gradient).
fn softmax_xent_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let dlogits = xent_logits_grad(g, op, grads)?;
    let Some(dloss) = grads[0] else { return Ok(vec![dlogits, None]) };
    let logits = input(g, op, 0)?;
    let log_softmax = g.log_softmax(logits)?;
    let neg = g.neg(log_softmax)?;
    let column = g.reshape(dloss, &[-1, 1])?;
    Ok(vec![dlogits, Some(g.mul(column, neg)?)])
}

fn bias_add_grad(
    g: &mut GraphBuilder,
    _: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    Ok(vec![Some(dy), Some(g.bias_add_grad(dy)?)])
}

/// TF's `_CheckNumericsGrad`: the gradient is checked too, with the same message prefixed.
fn check_numerics_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let message = g.node(op)?.attrs.str("message").unwrap_or_default().to_string();
    let checked = g.check_numerics(
        dy,
        &format!("Not a number (NaN) or infinity (Inf) values detected in gradient. {message}"),
    )?;
    Ok(vec![Some(checked)])
}

/// TF's `_TopKGrad`: each value's gradient goes back to the input position its index names, the
/// other positions get zero. Rows are flattened so that one `UnsortedSegmentSum` over flat positions
/// (`row * n + index`, distinct within the op) does the scatter.
fn top_k_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let x = input(g, op, 0)?;
    let unknown = || {
        Error::unimplemented(format!(
            "gradient of TopKV2 '{}' needs the input and output shapes known when the graph is built",
            g.op_name(op)
        ))
    };
    let (Some(xs), Some(ys)) = (static_shape(g, x), static_shape(g, op.output(1))) else {
        return Err(unknown());
    };
    let (Some(&n), Some(&k)) = (xs.dims().last(), ys.dims().last()) else { return Err(unknown()) };
    let rows: usize = xs.dims()[..xs.dims().len() - 1].iter().product();
    let too_big =
        || Error::unimplemented(format!("gradient of TopKV2 '{}': input too large for int32", g.op_name(op)));
    let total = i32::try_from(rows * n).map_err(|_| too_big())?;
    let starts: Vec<i32> = (0..rows).map(|r| (r * n) as i32).collect();
    let starts = g.constant(Tensor::from_vec(&[rows, 1], starts)?)?;
    let indices = g.reshape(op.output(1), &[rows as i64, k as i64])?;
    let flat = g.add(indices, starts)?;
    let flat = g.reshape(flat, &[-1])?;
    let values = g.reshape(dy, &[-1])?;
    let num = g.constant(Tensor::scalar(total))?;
    let dx = g.unsorted_segment_sum(values, flat, num)?;
    let dims: Vec<i64> = xs.dims().iter().map(|&d| d as i64).collect();
    Ok(vec![Some(g.reshape(dx, &dims)?), None])
}
