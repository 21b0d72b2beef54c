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
