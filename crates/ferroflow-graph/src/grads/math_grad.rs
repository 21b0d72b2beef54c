//! Gradients of arithmetic, matrix products and reductions (TF's `math_grad.py`).

use crate::gradients::GradientFn;
use crate::ops::array_ops::static_shape;
use crate::{GraphBuilder, Operation, Output};
use ferroflow_core::{Error, Result};

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[
    ("Add", add_grad),
    ("Sub", sub_grad),
    ("Mul", mul_grad),
    ("RealDiv", div_grad),
    ("Neg", neg_grad),
    ("Square", square_grad),
    ("AddN", add_n_grad),
    ("MatMul", matmul_grad),
    ("Sum", sum_grad),
    ("Mean", mean_grad),
    ("Sqrt", sqrt_grad),
    ("Rsqrt", rsqrt_grad),
    ("Exp", exp_grad),
    ("Log", log_grad),
    ("Reciprocal", reciprocal_grad),
    ("Abs", abs_grad),
    ("Sigmoid", sigmoid_grad),
    ("Tanh", tanh_grad),
    ("Maximum", maximum_grad),
    ("Minimum", minimum_grad),
    ("Pow", pow_grad),
    ("SquaredDifference", squared_difference_grad),
    ("Select", select_grad),
    ("Max", max_or_min_grad),
    ("Min", max_or_min_grad),
    ("Prod", prod_grad),
];

fn inputs2(g: &GraphBuilder, op: Operation) -> Result<(Output, Output)> {
    let node = g.node(op)?;
    match node.inputs.as_slice() {
        [a, b, ..] => Ok((*a, *b)),
        _ => Err(Error::internal(format!("node '{}' should have two inputs", node.name))),
    }
}

/// Sums a broadcast gradient back down to the shape of `x` (TF's `BroadcastGradientArgs` + `Sum` +
/// `Reshape`, done statically when both shapes are known).
pub(crate) fn unbroadcast(g: &mut GraphBuilder, grad: Output, x: Output) -> Result<Output> {
    let (gs, xs) = (static_shape(g, grad), static_shape(g, x));
    if let (Some(gs), Some(xs)) = (&gs, &xs) {
        if gs == xs {
            return Ok(grad);
        }
        let (gd, xd) = (gs.dims(), xs.dims());
        let offset = gd.len().saturating_sub(xd.len());
        let axes: Vec<i64> = (0..gd.len())
            .filter(|&i| i < offset || (xd[i - offset] == 1 && gd[i] != 1))
            .map(|i| i as i64)
            .collect();
        let summed = if axes.is_empty() { grad } else { g.reduce_sum(grad, Some(&axes), false)? };
        let target: Vec<i64> = xd.iter().map(|&d| d as i64).collect();
        return g.reshape(summed, &target);
    }
    let sx = g.shape_of(x)?;
    let sg = g.shape_of(grad)?;
    let (axes, _) = g.broadcast_gradient_args(sx, sg)?;
    let summed = g.reduction_dynamic("Sum", grad, axes, false)?;
    g.reshape_to(summed, sx)
}

fn add_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (a, b) = inputs2(g, op)?;
    Ok(vec![Some(unbroadcast(g, dz, a)?), Some(unbroadcast(g, dz, b)?)])
}

fn sub_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (a, b) = inputs2(g, op)?;
    let neg = g.neg(dz)?;
    Ok(vec![Some(unbroadcast(g, dz, a)?), Some(unbroadcast(g, neg, b)?)])
}

fn mul_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (a, b) = inputs2(g, op)?;
    let da = g.mul(dz, b)?;
    let db = g.mul(a, dz)?;
    Ok(vec![Some(unbroadcast(g, da, a)?), Some(unbroadcast(g, db, b)?)])
}

fn div_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (a, b) = inputs2(g, op)?;
    let da = g.div(dz, b)?;
    // d(a/b)/db = -a / b^2
    let b2 = g.square(b)?;
    let q = g.div(a, b2)?;
    let nq = g.neg(q)?;
    let db = g.mul(dz, nq)?;
    Ok(vec![Some(unbroadcast(g, da, a)?), Some(unbroadcast(g, db, b)?)])
}

fn neg_grad(g: &mut GraphBuilder, _: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    Ok(vec![grads[0].map(|d| g.neg(d)).transpose()?])
}

fn square_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let x = g.node(op)?.inputs[0];
    let two = g.scalar_like(x, 2.0)?;
    let two_x = g.mul(two, x)?;
    Ok(vec![Some(g.mul(dy, two_x)?)])
}

fn add_n_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let n = g.node(op)?.inputs.len();
    Ok(vec![grads[0]; n])
}

fn matmul_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let node = g.node(op)?;
    let ta = node.attrs.bool_or("transpose_a", false);
    let tb = node.attrs.bool_or("transpose_b", false);
    let (a, b) = inputs2(g, op)?;
    let (da, db) = match (ta, tb) {
        (false, false) => (g.matmul(dz, b, false, true)?, g.matmul(a, dz, true, false)?),
        (false, true) => (g.matmul(dz, b, false, false)?, g.matmul(dz, a, true, false)?),
        (true, false) => (g.matmul(b, dz, false, true)?, g.matmul(a, dz, false, false)?),
        (true, true) => (g.matmul(b, dz, true, true)?, g.matmul(dz, a, true, true)?),
    };
    Ok(vec![Some(da), Some(db)])
}

/// The gradient of a sum: `dy` reshaped to keep the reduced axes as size 1, then broadcast to `x`.
fn sum_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, axes) = inputs2(g, op)?;
    Ok(vec![Some(broadcast_reduced(g, dy, x, axes)?), None])
}

fn mean_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, axes) = inputs2(g, op)?;
    let spread = broadcast_reduced(g, dy, x, axes)?;
    let count = match (static_shape(g, x), static_shape(g, op.output(0))) {
        (Some(xs), Some(ys)) => {
            let c = xs.num_elements() as f64 / ys.num_elements().max(1) as f64;
            g.scalar_like(x, c)?
        }
        _ => {
            let dtype = g.dtype(x)?;
            let sx = g.shape_of(x)?;
            let sy = g.shape_of(op.output(0))?;
            let nx = g.reduce_prod_all(sx)?;
            let ny = g.reduce_prod_all(sy)?;
            let ratio = g.div(nx, ny)?;
            g.cast(ratio, dtype)?
        }
    };
    Ok(vec![Some(g.div(spread, count)?), None])
}

fn broadcast_reduced(g: &mut GraphBuilder, dy: Output, x: Output, axes: Output) -> Result<Output> {
    let axes_v = g.constant_value(axes).and_then(|t| t.to_vec::<i32>().ok());
    if let (Some(xs), Some(axes_v)) = (static_shape(g, x), axes_v) {
        let rank = xs.rank() as i64;
        let kept: Vec<i64> = (0..rank)
            .map(|i| {
                let reduced = axes_v.iter().any(|&a| (i64::from(a) + rank) % rank.max(1) == i);
                if reduced {
                    1
                } else {
                    xs.dims()[i as usize] as i64
                }
            })
            .collect();
        let shaped = g.reshape(dy, &kept)?;
        let dims: Vec<i32> = xs.dims().iter().map(|&d| d as i32).collect();
        let target = g.constant(ferroflow_core::Tensor::vector(dims))?;
        return g.broadcast_to(shaped, target);
    }
    let sx = g.shape_of(x)?;
    let kept = g.reduced_shape_op(sx, axes)?;
    let shaped = g.reshape_to(dy, kept)?;
    g.broadcast_to(shaped, sx)
}

/// Input `i` of a node, or `Internal` when the node has fewer (a gradient registered for the wrong op).
pub(crate) fn input(g: &GraphBuilder, op: Operation, i: usize) -> Result<Output> {
    let node = g.node(op)?;
    node.inputs.get(i).copied().ok_or_else(|| {
        Error::internal(format!("node '{}' ({}) should have input {i}", node.name, node.op_type))
    })
}

/// A gradient `f(y, dy)` of a one-input op whose TF gradient kernel reads the op's output (`SqrtGrad`,
/// `SigmoidGrad`, ...).
fn via_output(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
    f: fn(&mut GraphBuilder, Output, Output) -> Result<Output>,
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    Ok(vec![Some(f(g, op.output(0), dy)?)])
}

fn sqrt_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    via_output(g, op, grads, GraphBuilder::sqrt_grad)
}

fn rsqrt_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    via_output(g, op, grads, GraphBuilder::rsqrt_grad)
}

fn reciprocal_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    via_output(g, op, grads, GraphBuilder::reciprocal_grad)
}

fn sigmoid_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    via_output(g, op, grads, GraphBuilder::sigmoid_grad)
}

fn tanh_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    via_output(g, op, grads, GraphBuilder::tanh_grad)
}

/// `d exp(x) = dy * exp(x)`, reusing the output as TF does.
fn exp_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    Ok(vec![Some(g.mul(dy, op.output(0))?)])
}

fn log_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let x = input(g, op, 0)?;
    let inv = g.reciprocal(x)?;
    Ok(vec![Some(g.mul(dy, inv)?)])
}

fn abs_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None]) };
    let x = input(g, op, 0)?;
    let s = g.sign(x)?;
    Ok(vec![Some(g.mul(dy, s)?)])
}

/// TF's `_MaximumMinimumGrad`: the gradient goes to `x` where `selector(x, y)` holds (ties to `x`), else
/// to `y`, then each is summed back to its operand's shape.
fn maximum_minimum_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
    selector: fn(&mut GraphBuilder, Output, Output) -> Result<Output>,
) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (x, y) = inputs2(g, op)?;
    let mask = selector(g, x, y)?;
    let zeros = g.zeros_shaped_like(dz)?;
    let gx = g.select(mask, dz, zeros)?;
    let gy = g.select(mask, zeros, dz)?;
    Ok(vec![Some(unbroadcast(g, gx, x)?), Some(unbroadcast(g, gy, y)?)])
}

fn maximum_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    maximum_minimum_grad(g, op, grads, GraphBuilder::greater_equal)
}

fn minimum_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    maximum_minimum_grad(g, op, grads, GraphBuilder::less_equal)
}

/// TF's `_PowGrad`: `dz * y * x^(y-1)` for `x`, `dz * z * log(x)` for `y` where `x > 0` (else 0, so a
/// negative base does not poison the exponent's gradient with NaN).
fn pow_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (x, y) = inputs2(g, op)?;
    let z = op.output(0);
    let one = g.scalar_like(y, 1.0)?;
    let y_1 = g.sub(y, one)?;
    let p = g.pow(x, y_1)?;
    let yp = g.mul(y, p)?;
    let gx = g.mul(dz, yp)?;
    let zero = g.scalar_like(x, 0.0)?;
    let positive = g.greater(x, zero)?;
    // As TF: log(x) where x > 0, else 0 (the NaN of log at a negative base is selected away).
    let log_raw = g.log(x)?;
    let zeros = g.zeros_shaped_like(x)?;
    let log_x = g.select(positive, log_raw, zeros)?;
    let zl = g.mul(z, log_x)?;
    let gy = g.mul(dz, zl)?;
    Ok(vec![Some(unbroadcast(g, gx, x)?), Some(unbroadcast(g, gy, y)?)])
}

fn squared_difference_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let (x, y) = inputs2(g, op)?;
    let two = g.scalar_like(dz, 2.0)?;
    let diff = g.sub(x, y)?;
    let two_dz = g.mul(two, dz)?;
    let gx = g.mul(two_dz, diff)?;
    let gy = g.neg(gx)?;
    Ok(vec![Some(unbroadcast(g, gx, x)?), Some(unbroadcast(g, gy, y)?)])
}

/// TF's `_SelectGrad`: the gradient goes to `x` where the condition holds and to `y` elsewhere.
fn select_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None, None]) };
    let c = input(g, op, 0)?;
    let zeros = g.zeros_shaped_like(dz)?;
    let gx = g.select(c, dz, zeros)?;
    let gy = g.select(c, zeros, dz)?;
    Ok(vec![None, Some(gx), Some(gy)])
}

/// Reduces `x` over the axes tensor of a reduction node with `keep_dims`, statically when the axes are
/// a constant (so the result keeps a known shape).
fn sum_keep_dims(g: &mut GraphBuilder, x: Output, axes: Output) -> Result<Output> {
    match g.constant_value(axes).and_then(|t| t.to_vec::<i32>().ok()) {
        Some(a) => {
            let a: Vec<i64> = a.into_iter().map(i64::from).collect();
            g.reduce_sum(x, Some(&a), true)
        }
        None => g.reduction_dynamic("Sum", x, axes, true),
    }
}

/// TF's `_MinOrMaxGrad`: the gradient is split equally between the elements equal to the extremum.
fn max_or_min_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, axes) = inputs2(g, op)?;
    let dtype = g.dtype(x)?;
    let y = broadcast_reduced(g, op.output(0), x, axes)?;
    let dy = broadcast_reduced(g, dy, x, axes)?;
    let hit = g.equal(y, x)?;
    let indicators = g.cast(hit, dtype)?;
    let count = sum_keep_dims(g, indicators, axes)?;
    let share = g.div(indicators, count)?;
    Ok(vec![Some(g.mul(share, dy)?), None])
}

/// The gradient of `Prod`: one fused node computing, per element, `dy` times the product of the other
/// elements of its group (TF composes the same from exclusive cumulative products, to stay correct when
/// an element is zero; dividing `y / x` would not be).
fn prod_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, axes) = inputs2(g, op)?;
    Ok(vec![Some(g.prod_grad(x, axes, dy)?), None])
}
