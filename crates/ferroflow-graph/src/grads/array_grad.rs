//! Gradients of array ops (TF's `array_grad.py`).

use crate::gradients::GradientFn;
use crate::ops::array_ops::static_shape;
use crate::{GraphBuilder, Operation, Output};
use ferroflow_core::{Error, Result, Tensor};

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[
    ("Identity", identity_grad),
    ("Reshape", reshape_grad),
    ("PlaceholderWithDefault", identity_grad),
    ("Transpose", transpose_grad),
    ("ExpandDims", reshape_grad),
    ("Squeeze", reshape_grad),
    ("ConcatV2", concat_grad),
    ("Pack", pack_grad),
    ("Unpack", unpack_grad),
    ("Slice", slice_grad),
    ("StridedSlice", strided_slice_grad),
    ("GatherV2", gather_grad),
    ("UnsortedSegmentSum", unsorted_segment_sum_grad),
    ("Tile", tile_grad),
    ("Pad", pad_grad),
    ("BatchMatMul", batch_matmul_grad),
];

fn inputs(g: &GraphBuilder, op: Operation) -> Result<Vec<Output>> {
    Ok(g.node(op)?.inputs.clone())
}

fn input(g: &GraphBuilder, op: Operation, i: usize) -> Result<Output> {
    let node = g.node(op)?;
    node.inputs
        .get(i)
        .copied()
        .ok_or_else(|| Error::internal(format!("node '{}' should have an input {i}", node.name)))
}

/// The shape of `x` as an int32 tensor: a constant when known at build time, else a `Shape` node.
pub(crate) fn shape_tensor(g: &mut GraphBuilder, x: Output) -> Result<Output> {
    match static_shape(g, x) {
        Some(s) => g.const_i32(&s.dims().iter().map(|&d| d as i64).collect::<Vec<_>>()),
        None => g.shape_of(x),
    }
}

/// `dy` reshaped to the shape of `x`.
fn reshape_like(g: &mut GraphBuilder, dy: Output, x: Output) -> Result<Output> {
    match static_shape(g, x) {
        Some(s) => g.reshape(dy, &s.dims().iter().map(|&d| d as i64).collect::<Vec<_>>()),
        None => {
            let shape = g.shape_of(x)?;
            g.reshape_to(dy, shape)
        }
    }
}

fn identity_grad(
    _: &mut GraphBuilder,
    _: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    Ok(vec![grads[0]])
}

/// Reshape, `ExpandDims` and `Squeeze` only move elements between dimensions: the gradient is `dy` in
/// the input's shape; the second input (shape or axis), if any, gets none.
fn reshape_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let n = g.node(op)?.inputs.len();
    let mut out = vec![None; n];
    if let Some(dy) = grads[0] {
        let x = input(g, op, 0)?;
        out[0] = Some(reshape_like(g, dy, x)?);
    }
    Ok(out)
}

fn transpose_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let perm_t = input(g, op, 1)?;
    let perm = g
        .constant_ints(perm_t)
        .ok_or_else(|| Error::unimplemented("gradient of Transpose with a non-constant perm"))?;
    let mut inverse = vec![0usize; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        let slot = usize::try_from(p)
            .ok()
            .and_then(|p| inverse.get_mut(p))
            .ok_or_else(|| Error::internal(format!("Transpose perm {perm:?} is not a permutation")))?;
        *slot = i;
    }
    Ok(vec![Some(g.transpose(dy, Some(&inverse))?), None])
}

fn concat_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let all = inputs(g, op)?;
    let Some((&axis_t, values)) = all.split_last() else { return Ok(vec![]) };
    let Some(dy) = grads[0] else { return Ok(vec![None; all.len()]) };
    let axis = g
        .constant_ints(axis_t)
        .and_then(|v| v.first().copied())
        .ok_or_else(|| Error::unimplemented("gradient of ConcatV2 with a non-constant axis"))?;
    let shapes: Option<Vec<_>> = values.iter().map(|&v| static_shape(g, v)).collect();
    let mut out = Vec::with_capacity(all.len());
    if let Some(shapes) = shapes {
        let rank = shapes.first().map_or(0, |s| s.rank()) as i64;
        let ax = ((axis + rank) % rank.max(1)) as usize;
        let mut offset = 0usize;
        for s in &shapes {
            let mut begin = vec![0i64; s.rank()];
            begin[ax] = offset as i64;
            let size: Vec<i64> = s.dims().iter().map(|&d| d as i64).collect();
            out.push(Some(g.slice(dy, &begin, &size)?));
            offset += s.dims()[ax];
        }
    } else {
        let shape_ts = values.iter().map(|&v| g.shape_of(v)).collect::<Result<Vec<_>>>()?;
        let offsets = g.concat_offset(axis_t, &shape_ts)?;
        for (off, shape) in offsets.into_iter().zip(shape_ts) {
            out.push(Some(g.slice_dynamic(dy, off, shape)?));
        }
    }
    out.push(None);
    Ok(out)
}

fn pack_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let node = g.node(op)?;
    let n = node.inputs.len();
    let axis = node.attrs.int("axis")?;
    let Some(dy) = grads[0] else { return Ok(vec![None; n]) };
    Ok(g.unstack_n(dy, axis, n)?.into_iter().map(Some).collect())
}

fn unpack_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let axis = g.node(op)?.attrs.int("axis")?;
    if grads.iter().all(Option::is_none) {
        return Ok(vec![None]);
    }
    let parts = grads
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(d) => Ok(*d),
            None => g.zeros_like(op.output(i)),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![Some(g.stack(&parts, axis)?)])
}

fn slice_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None, None]) };
    let (x, begin) = (input(g, op, 0)?, input(g, op, 1)?);
    if let (Some(xs), Some(ys), Some(b)) =
        (static_shape(g, x), static_shape(g, op.output(0)), g.constant_ints(begin))
    {
        let paddings: Vec<(usize, usize)> = xs
            .dims()
            .iter()
            .zip(ys.dims())
            .zip(&b)
            .map(|((&d, &s), &b)| (b as usize, d.saturating_sub(b as usize + s)))
            .collect();
        return Ok(vec![Some(g.pad(dy, &paddings)?), None, None]);
    }
    // paddings = stack([begin, shape(x) - begin - shape(dy)], axis=1)
    let sx = g.shape_of(x)?;
    let sy = g.shape_of(dy)?;
    let rest = g.sub(sx, begin)?;
    let after = g.sub(rest, sy)?;
    let paddings = g.stack(&[begin, after], 1)?;
    Ok(vec![Some(g.pad_dynamic(dy, paddings)?), None, None])
}

fn strided_slice_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None; 4]) };
    let x = input(g, op, 0)?;
    let shape = shape_tensor(g, x)?;
    Ok(vec![Some(g.strided_slice_grad(op, shape, dy)?), None, None, None])
}

/// TF returns `IndexedSlices`; this dense gradient sums `dy`'s rows into the rows of `params` they came
/// from.
/// TF's `_GatherV2Grad` (without `batch_dims`): for axis 0 the gradient is `dy` summed into the rows
/// its indices name; for another axis that axis is moved to the front, summed the same way, and moved
/// back.
fn gather_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None, None]) };
    let (params, indices, axis_t) = (input(g, op, 0)?, input(g, op, 1)?, input(g, op, 2)?);
    let axis = g.constant_ints(axis_t).and_then(|v| v.first().copied()).ok_or_else(|| {
        Error::unimplemented(format!("gradient of GatherV2 '{}' with a non-constant axis", g.op_name(op)))
    })?;
    if axis == 0 {
        let num = match g.shape(params)?.dim(0) {
            Some(n) => g.constant(Tensor::scalar(n as i32))?,
            None => {
                let s = g.shape_of(params)?;
                let masks =
                    crate::ops::array_ops::StridedSliceMasks { shrink_axis_mask: 1, ..Default::default() };
                g.strided_slice(s, &[0], &[1], &[1], masks)?
            }
        };
        return Ok(vec![Some(g.unsorted_segment_sum(dy, indices, num)?), None, None]);
    }
    let ps = static_shape(g, params).ok_or_else(|| {
        Error::unimplemented(format!(
            "gradient of GatherV2 '{}' along axis {axis} needs the params shape known when the graph is built",
            g.op_name(op)
        ))
    })?;
    let rank = ps.dims().len();
    let ax = if axis < 0 { axis + rank as i64 } else { axis };
    let ax = usize::try_from(ax).ok().filter(|&a| a < rank).ok_or_else(|| {
        Error::invalid_argument(format!("GatherV2 '{}': axis {axis} out of range for {ps}", g.op_name(op)))
    })?;
    let dims: Vec<i64> = ps.dims().iter().map(|&d| d as i64).collect();
    // dy is outer + indices.shape + inner; the indices' dimensions become one.
    let mut values_shape = dims[..ax].to_vec();
    values_shape.push(-1);
    values_shape.extend_from_slice(&dims[ax + 1..]);
    let values = g.reshape(dy, &values_shape)?;
    let mut to_front = vec![ax];
    to_front.extend((0..rank).filter(|&d| d != ax));
    let values = g.transpose(values, Some(to_front.as_slice()))?;
    let ids = g.reshape(indices, &[-1])?;
    let num = g.constant(Tensor::scalar(dims[ax] as i32))?;
    let summed = g.unsorted_segment_sum(values, ids, num)?;
    let mut back: Vec<usize> = (1..=ax).collect();
    back.push(0);
    back.extend(ax + 1..rank);
    Ok(vec![Some(g.transpose(summed, Some(back.as_slice()))?), None, None])
}

fn unsorted_segment_sum_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None, None]) };
    let ids = input(g, op, 1)?;
    Ok(vec![Some(g.gather(dy, ids, 0)?), None, None])
}

/// Reshapes `dy` to `[m0, d0, m1, d1, ...]` and sums over the multiples (TF's tile gradient).
fn tile_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, mult_t) = (input(g, op, 0)?, input(g, op, 1)?);
    let multiples = g
        .constant_ints(mult_t)
        .ok_or_else(|| Error::unimplemented("gradient of Tile with non-constant multiples"))?;
    let split = match static_shape(g, x) {
        Some(s) => {
            let dims: Vec<i64> = multiples.iter().zip(s.dims()).flat_map(|(&m, &d)| [m, d as i64]).collect();
            g.const_i32(&dims)?
        }
        None => {
            let sx = g.shape_of(x)?;
            let pairs = g.stack(&[mult_t, sx], 1)?;
            g.reshape(pairs, &[-1])?
        }
    };
    let shaped = g.reshape_to(dy, split)?;
    let axes: Vec<i64> = (0..multiples.len() as i64).map(|i| 2 * i).collect();
    let summed = g.reduce_sum(shaped, Some(&axes), false)?;
    Ok(vec![Some(reshape_like(g, summed, x)?), None])
}

fn pad_grad(g: &mut GraphBuilder, op: Operation, grads: &[Option<Output>]) -> Result<Vec<Option<Output>>> {
    let Some(dy) = grads[0] else { return Ok(vec![None, None]) };
    let (x, paddings) = (input(g, op, 0)?, input(g, op, 1)?);
    if let (Some(xs), Some(p)) = (static_shape(g, x), g.constant_ints(paddings)) {
        let begin: Vec<i64> = p.iter().step_by(2).copied().collect();
        let size: Vec<i64> = xs.dims().iter().map(|&d| d as i64).collect();
        return Ok(vec![Some(g.slice(dy, &begin, &size)?), None]);
    }
    let b0 = g.const_i32(&[0, 0])?;
    let s0 = g.const_i32(&[-1, 1])?;
    let first = g.slice_dynamic(paddings, b0, s0)?;
    let begin = g.reshape(first, &[-1])?;
    let size = g.shape_of(x)?;
    Ok(vec![Some(g.slice_dynamic(dy, begin, size)?), None])
}

fn batch_matmul_grad(
    g: &mut GraphBuilder,
    op: Operation,
    grads: &[Option<Output>],
) -> Result<Vec<Option<Output>>> {
    let Some(dz) = grads[0] else { return Ok(vec![None, None]) };
    let node = g.node(op)?;
    let (ta, tb) = (node.attrs.bool_or("adj_x", false), node.attrs.bool_or("adj_y", false));
    let (a, b) = (input(g, op, 0)?, input(g, op, 1)?);
    let (da, db) = match (ta, tb) {
        (false, false) => (g.batch_matmul(dz, b, false, true)?, g.batch_matmul(a, dz, true, false)?),
        (false, true) => (g.batch_matmul(dz, b, false, false)?, g.batch_matmul(dz, a, true, false)?),
        (true, false) => (g.batch_matmul(b, dz, false, true)?, g.batch_matmul(a, dz, false, false)?),
        (true, true) => (g.batch_matmul(b, dz, true, true)?, g.batch_matmul(dz, a, true, true)?),
    };
    Ok(vec![Some(da), Some(db)])
}
