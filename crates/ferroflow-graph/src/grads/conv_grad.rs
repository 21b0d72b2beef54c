//! Gradients of convolution, pooling, batch normalization and dropout (TF's `nn_grad.py` conv family).

use super::array_grad::shape_tensor;
use crate::gradients::GradientFn;
use crate::ops::conv_ops::conv_attrs;
use crate::{AttrValue, GraphBuilder, NodeSpec, Operation, Output};
use ferroflow_core::{Error, Result};

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[
    ("Conv2D", conv2d_grad),
    ("Conv2DBackpropInput", conv2d_backprop_input_grad),
    ("Conv2DBackpropFilter", conv2d_backprop_filter_grad),
    ("DepthwiseConv2dNative", depthwise_grad),
    ("MaxPool", max_pool_grad),
    ("AvgPool", avg_pool_grad),
    ("FusedBatchNorm", fused_batch_norm_grad),
    ("DropoutMask", no_grad),
];

fn input(g: &GraphBuilder, op: Operation, i: usize) -> Result<Output> {
    let node = g.node(op)?;
    node.inputs
        .get(i)
        .copied()
        .ok_or_else(|| Error::internal(format!("node '{}' should have an input {i}", node.name)))
}

fn no_grad(g: &mut GraphBuilder, op: Operation, _: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    Ok(vec![None; g.node(op)?.inputs.len()])
}

fn conv2d_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let opts = conv_attrs(&g.node(op)?.attrs)?;
    let (x, w) = (input(g, op, 0)?, input(g, op, 1)?);
    let sx = shape_tensor(g, x)?;
    let sw = shape_tensor(g, w)?;
    let dx = g.conv2d_backprop_input(sx, w, dy, opts)?;
    let dw = g.conv2d_backprop_filter(x, sw, dy, opts)?;
    Ok(vec![Some(dx), Some(dw)])
}

/// `Conv2DBackpropInput(sizes, w, dy)` is linear in `w` and in `dy`: its gradients are the filter
/// backprop and the forward convolution of the incoming gradient.
fn conv2d_backprop_input_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(grad) = grads[0] else { return Ok(vec![None, None, None]) };
    let opts = conv_attrs(&g.node(op)?.attrs)?;
    let (w, dy) = (input(g, op, 1)?, input(g, op, 2)?);
    let sw = shape_tensor(g, w)?;
    let dw = g.conv2d_backprop_filter(grad, sw, dy, opts)?;
    let ddy = g.conv2d(grad, w, opts)?;
    Ok(vec![None, Some(dw), Some(ddy)])
}

fn conv2d_backprop_filter_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(grad) = grads[0] else { return Ok(vec![None, None, None]) };
    let opts = conv_attrs(&g.node(op)?.attrs)?;
    let (x, dy) = (input(g, op, 0)?, input(g, op, 2)?);
    let sx = shape_tensor(g, x)?;
    let dx = g.conv2d_backprop_input(sx, grad, dy, opts)?;
    let ddy = g.conv2d(x, grad, opts)?;
    Ok(vec![Some(dx), None, Some(ddy)])
}

fn depthwise_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, w) = (input(g, op, 0)?, input(g, op, 1)?);
    let dx = g.depthwise_backprop("DepthwiseConv2dNativeBackpropInput", op, vec![w, dy], x)?;
    let dw = g.depthwise_backprop("DepthwiseConv2dNativeBackpropFilter", op, vec![x, dy], w)?;
    Ok(vec![Some(dx), Some(dw)])
}

fn max_pool_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let x = input(g, op, 0)?;
    Ok(vec![Some(g.like_node("MaxPoolGrad", op, vec![x, op.output(0), dy], x)?)])
}

fn avg_pool_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let x = input(g, op, 0)?;
    let sx = shape_tensor(g, x)?;
    Ok(vec![Some(g.like_node("AvgPoolGrad", op, vec![sx, dy], x)?)])
}

/// `FusedBatchNormGrad(dy, x, scale, mean, variance)`: in training the saved batch mean and biased
/// variance (outputs 3 and 4), at inference the given statistics, which get no gradient (as in TF).
fn fused_batch_norm_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None; 5]) };
    let node = g.node(op)?.clone();
    let training = node.attrs.bool_or("is_training", true);
    let (x, scale) = (input(g, op, 0)?, input(g, op, 1)?);
    let (mean, var) =
        if training { (op.output(3), op.output(4)) } else { (input(g, op, 3)?, input(g, op, 4)?) };
    let dtype = g.dtype(x)?;
    let mut spec = NodeSpec::new("FusedBatchNormGrad", vec![dy, x, scale, mean, var])
        .output(dtype, g.shape(x)?.clone())
        .output(dtype, g.shape(scale)?.clone())
        .output(dtype, g.shape(scale)?.clone());
    spec.attrs = node.attrs;
    spec.attrs.set("T", AttrValue::Type(dtype));
    let grad = g.add_node(spec)?;
    Ok(vec![Some(grad.output(0)), Some(grad.output(1)), Some(grad.output(2)), None, None])
}
