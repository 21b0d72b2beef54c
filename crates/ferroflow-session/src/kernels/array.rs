//! Kernels of placeholders, constants, identity and shape manipulation.

use super::int_values;
use super::math::Arith;
use super::matmul::{gemm_matmul, GemmElement};
use crate::kernel::{FnKernel, KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{match_tensor, DType, Error, Result, Shape, Tensor, TensorElement};
use ferroflow_graph::ops::array_ops::{strided_slice_axes, StridedAxis, StridedSliceMasks};
use ferroflow_graph::Node;
use ndarray::{ArcArray, ArrayD, Axis, Ix3, IxDyn, Slice};

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("Placeholder", placeholder),
    ("PlaceholderWithDefault", identity),
    ("Identity", identity),
    ("StopGradient", identity),
    ("Const", constant),
    ("NoOp", no_op),
    ("Shape", shape),
    ("Reshape", reshape),
    ("Cast", cast),
    ("Fill", fill),
    ("BroadcastTo", broadcast_to),
    ("BroadcastGradientArgs", broadcast_gradient_args),
    ("ReducedShape", reduced_shape),
    ("Transpose", transpose),
    ("ExpandDims", expand_dims),
    ("Squeeze", squeeze),
    ("ConcatV2", concat),
    ("ConcatOffset", concat_offset),
    ("Pack", pack),
    ("Unpack", unpack),
    ("Slice", slice),
    ("StridedSlice", strided_slice),
    ("StridedSliceGrad", strided_slice_grad),
    ("GatherV2", gather),
    ("UnsortedSegmentSum", unsorted_segment_sum),
    ("OneHot", one_hot),
    ("ZerosLike", zeros_like),
    ("OnesLike", ones_like),
    ("Size", size),
    ("Rank", rank),
    ("Tile", tile),
    ("Pad", pad),
    ("BatchMatMul", batch_matmul),
];

fn placeholder(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let name = init.node.name.clone();
    Ok(Box::new(FnKernel(move |_: &mut OpKernelContext<'_>| {
        Err(Error::invalid_argument(format!("You must feed a value for placeholder tensor '{name}'")))
    })))
}

fn identity(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let t = ctx.take_input(0)?;
        ctx.output(t);
        Ok(())
    })))
}

struct ConstKernel(Tensor);

impl OpKernel for ConstKernel {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        ctx.output(self.0.clone());
        Ok(())
    }
}

fn constant(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(ConstKernel(init.node.attrs.tensor("value")?.clone())))
}

fn no_op(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|_: &mut OpKernelContext<'_>| Ok(()))))
}

fn shape(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let dims: Vec<i32> = ctx.input(0)?.shape().iter().map(|&d| d as i32).collect();
        ctx.output(Tensor::vector(dims));
        Ok(())
    })))
}

/// Resolves a target shape with at most one -1 against an element count.
pub(crate) fn resolve_shape(target: &[i64], n: usize, from: &[usize]) -> Result<Vec<usize>> {
    let known: usize = target.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    let unknown = target.iter().filter(|&&d| d < 0).count();
    let bad = || {
        Error::invalid_argument(format!(
            "Input to reshape is a tensor with {n} values, but the requested shape {target:?} does not fit (input shape {})",
            Shape::from(from)
        ))
    };
    if unknown > 1 || target.iter().any(|&d| d < -1) {
        return Err(bad());
    }
    let mut out: Vec<usize> = target.iter().map(|&d| d.max(0) as usize).collect();
    if unknown == 1 {
        if known == 0 || !n.is_multiple_of(known) {
            return Err(bad());
        }
        if let Some(i) = target.iter().position(|&d| d < 0) {
            out[i] = n / known;
        }
    } else if known != n {
        return Err(bad());
    }
    Ok(out)
}

fn reshape(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let target = int_values(ctx.input(1)?, "Reshape's shape")?;
        let x = ctx.take_input(0)?;
        let dims = resolve_shape(&target, x.num_elements(), x.shape())?;
        ctx.output(x.reshape(&dims)?);
        Ok(())
    })))
}

fn cast(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let dst = init.node.attrs.dtype("DstT")?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let out = ctx.input(0)?.cast(dst)?;
        ctx.output(out);
        Ok(())
    })))
}

fn dims_of(t: &Tensor, what: &str) -> Result<Vec<usize>> {
    int_values(t, what)?
        .into_iter()
        .map(|d| {
            usize::try_from(d)
                .map_err(|_| Error::invalid_argument(format!("{what} has a negative dimension {d}")))
        })
        .collect()
}

fn fill(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let dims = dims_of(ctx.input(0)?, "Fill's dims")?;
        let value = ctx.input(1)?;
        if value.num_elements() != 1 {
            return Err(Error::invalid_argument("Fill's value must be a scalar"));
        }
        let out = match_tensor!(value, a => {
            let v = a.iter().next().cloned().unwrap_or_default();
            Tensor::from(ndarray::ArrayD::from_elem(IxDyn(&dims), v))
        });
        ctx.output(out);
        Ok(())
    })))
}

fn broadcast_to(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let dims = dims_of(ctx.input(1)?, "BroadcastTo's shape")?;
        let x = ctx.input(0)?;
        if x.shape() == dims.as_slice() {
            let t = ctx.take_input(0)?;
            ctx.output(t);
            return Ok(());
        }
        let out = match_tensor!(x, a => {
            let view = a.broadcast(IxDyn(&dims)).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "cannot broadcast shape {} to {}",
                    Shape::from(a.shape()),
                    Shape::from(dims.as_slice())
                ))
            })?;
            Tensor::from(view.to_owned())
        });
        ctx.output(out);
        Ok(())
    })))
}

/// TF's `BCast` reduction indices: the axes along which each operand was broadcast.
pub(crate) fn broadcast_reduction_axes(s0: &[i64], s1: &[i64]) -> Result<(Vec<i32>, Vec<i32>)> {
    let rank = s0.len().max(s1.len());
    let pad = |s: &[i64]| -> Vec<i64> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (a, b) = (pad(s0), pad(s1));
    let (mut r0, mut r1) = (Vec::new(), Vec::new());
    for i in 0..rank {
        match (a[i], b[i]) {
            (x, y) if x == y => {
                if x == 1 {
                    r0.push(i as i32);
                    r1.push(i as i32);
                }
            }
            (1, _) => r0.push(i as i32),
            (_, 1) => r1.push(i as i32),
            _ => {
                return Err(Error::invalid_argument(format!("incompatible shapes {s0:?} and {s1:?}")));
            }
        }
    }
    Ok((r0, r1))
}

fn broadcast_gradient_args(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let s0 = int_values(ctx.input(0)?, "BroadcastGradientArgs' s0")?;
        let s1 = int_values(ctx.input(1)?, "BroadcastGradientArgs' s1")?;
        let (r0, r1) = broadcast_reduction_axes(&s0, &s1)?;
        ctx.output(Tensor::vector(r0));
        ctx.output(Tensor::vector(r1));
        Ok(())
    })))
}

fn reduced_shape(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let mut shape = int_values(ctx.input(0)?, "ReducedShape's shape")?;
        let rank = shape.len() as i64;
        for a in int_values(ctx.input(1)?, "ReducedShape's axes")? {
            if a < -rank || a >= rank {
                return Err(Error::invalid_argument(format!("axis {a} is out of range for rank {rank}")));
            }
            shape[((a + rank) % rank) as usize] = 1;
        }
        ctx.output(Tensor::vector(shape.into_iter().map(|d| d as i32).collect::<Vec<_>>()));
        Ok(())
    })))
}

/// Normalizes an axis against a rank, or fails naming the op.
fn axis_in(axis: i64, rank: usize, what: &str) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(Error::invalid_argument(format!("{what}: axis {axis} is out of range for rank {rank}")));
    }
    Ok(((axis + r) % r.max(1)) as usize)
}

fn scalar_int(t: &Tensor, what: &str) -> Result<i64> {
    match int_values(t, what)?.as_slice() {
        [v] => Ok(*v),
        _ => Err(Error::invalid_argument(format!(
            "{what} must be a scalar, got shape {}",
            Shape::from(t.shape())
        ))),
    }
}

/// `a` in row-major layout: ndarray's `concatenate`/`stack` make the joined axis the outermost in memory,
/// which would make every later kernel copy through a strided iterator.
fn standard<T: Clone>(a: ArrayD<T>) -> ArrayD<T> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// Output 0 from an `ArrayD` of any element type.
fn out<T: TensorElement>(a: ArrayD<T>) -> Tensor {
    Tensor::from(a)
}

fn transpose(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let perm = int_values(ctx.input(1)?, "Transpose's perm")?;
        let x = ctx.input(0)?;
        let mut seen = vec![false; x.rank()];
        let mut p = Vec::with_capacity(perm.len());
        for &v in &perm {
            match usize::try_from(v).ok().filter(|&u| u < seen.len()) {
                Some(u) if !seen[u] => {
                    seen[u] = true;
                    p.push(u);
                }
                _ => {
                    return Err(Error::invalid_argument(format!(
                        "Transpose: {perm:?} is not a permutation of the axes of {}",
                        Shape::from(x.shape())
                    )))
                }
            }
        }
        if p.len() != x.rank() {
            return Err(Error::invalid_argument(format!(
                "Transpose: perm {perm:?} does not match rank {}",
                x.rank()
            )));
        }
        let t =
            match_tensor!(x, a => out(a.view().permuted_axes(IxDyn(&p)).as_standard_layout().into_owned()));
        ctx.output(t);
        Ok(())
    })))
}

fn expand_dims(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let axis = scalar_int(ctx.input(1)?, "ExpandDims' axis")?;
        let x = ctx.take_input(0)?;
        let mut dims = x.shape().to_vec();
        let pos = axis_in(axis, dims.len() + 1, "ExpandDims")?;
        dims.insert(pos, 1);
        ctx.output(x.reshape(&dims)?);
        Ok(())
    })))
}

fn squeeze(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let axes = init.node.attrs.ints("squeeze_dims").map(<[i64]>::to_vec).unwrap_or_default();
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let x = ctx.take_input(0)?;
        let rank = x.rank();
        let listed = axes.iter().map(|&a| axis_in(a, rank, "Squeeze")).collect::<Result<Vec<_>>>()?;
        let mut dims = Vec::with_capacity(rank);
        for (i, &d) in x.shape().iter().enumerate() {
            let drop = if axes.is_empty() { d == 1 } else { listed.contains(&i) };
            if drop && d != 1 {
                return Err(Error::invalid_argument(format!(
                    "Squeeze: can not squeeze dim[{i}], expected a dimension of 1, got {}",
                    Shape::from(x.shape())
                )));
            }
            if !drop {
                dims.push(d);
            }
        }
        ctx.output(x.reshape(&dims)?);
        Ok(())
    })))
}

fn concat_typed<T: TensorElement>(
    first: &ArcArray<T, IxDyn>,
    values: &[Tensor],
    axis: usize,
) -> Result<Tensor> {
    let mut parts = Vec::with_capacity(values.len());
    let mut along = 0;
    for v in values {
        let a = v.array::<T>()?;
        if a.ndim() != first.ndim()
            || a.shape().iter().zip(first.shape()).enumerate().any(|(i, (x, y))| i != axis && x != y)
        {
            return Err(Error::invalid_argument(format!(
                "ConcatV2: dimensions of inputs should match: shape {} vs. shape {} along axis {axis}",
                Shape::from(first.shape()),
                Shape::from(a.shape())
            )));
        }
        along += a.shape()[axis];
        parts.push(a.as_standard_layout());
    }
    let mut shape = first.shape().to_vec();
    shape[axis] = along;
    // Row-major: the result is, for each index of the leading axes, the inputs' blocks one after another.
    let outer: usize = shape[..axis].iter().product();
    let blocks: Vec<&[T]> = parts.iter().map(|p| p.as_slice().unwrap_or(&[])).collect();
    let widths: Vec<usize> = blocks.iter().map(|b| b.len().checked_div(outer).unwrap_or(0)).collect();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for (b, &w) in blocks.iter().zip(&widths) {
            data.extend_from_slice(&b[o * w..(o + 1) * w]);
        }
    }
    Tensor::from_vec(&shape, data)
}

fn concat(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let Some((axis_t, values)) = ctx.inputs.split_last() else {
            return Err(Error::internal("ConcatV2 without inputs"));
        };
        let first =
            values.first().ok_or_else(|| Error::invalid_argument("ConcatV2 needs at least one value"))?;
        let axis = axis_in(scalar_int(axis_t, "ConcatV2's axis")?, first.rank(), "ConcatV2")?;
        let t = match_tensor!(first, a => concat_typed(a, values, axis)?);
        ctx.output(t);
        Ok(())
    })))
}

fn concat_offset(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let Some((axis_t, shapes)) = ctx.inputs.split_first() else {
            return Err(Error::internal("ConcatOffset without inputs"));
        };
        let shapes =
            shapes.iter().map(|s| int_values(s, "ConcatOffset's shape")).collect::<Result<Vec<_>>>()?;
        let rank = shapes.first().map_or(0, Vec::len);
        let axis = axis_in(scalar_int(axis_t, "ConcatOffset's axis")?, rank, "ConcatOffset")?;
        let mut offset = 0i64;
        let mut outs = Vec::with_capacity(shapes.len());
        for s in &shapes {
            if s.len() != rank {
                return Err(Error::invalid_argument("ConcatOffset: shapes have different ranks"));
            }
            let mut o = vec![0i32; rank];
            o[axis] = offset as i32;
            offset += s[axis];
            outs.push(Tensor::vector(o));
        }
        for t in outs {
            ctx.output(t);
        }
        Ok(())
    })))
}

fn pack_typed<T: TensorElement>(
    first: &ArcArray<T, IxDyn>,
    values: &[Tensor],
    axis: usize,
) -> Result<Tensor> {
    let views = values.iter().map(|v| v.view::<T>()).collect::<Result<Vec<_>>>()?;
    if views.iter().any(|v| v.shape() != first.shape()) {
        return Err(Error::invalid_argument(format!(
            "Pack: all values must have shape {}",
            Shape::from(first.shape())
        )));
    }
    Ok(out(standard(ndarray::stack(Axis(axis), &views)?)))
}

fn pack(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let axis = init.node.attrs.int_or("axis", 0);
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let values = &ctx.inputs[..];
        let first = values.first().ok_or_else(|| Error::invalid_argument("Pack needs at least one value"))?;
        let ax = axis_in(axis, first.rank() + 1, "Pack")?;
        let t = match_tensor!(first, a => pack_typed(a, values, ax)?);
        ctx.output(t);
        Ok(())
    })))
}

fn unpack(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let axis = init.node.attrs.int_or("axis", 0);
    let num = init.node.attrs.int("num")? as usize;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let x = ctx.input(0)?;
        let ax = axis_in(axis, x.rank(), "Unpack")?;
        if x.shape()[ax] != num {
            return Err(Error::invalid_argument(format!(
                "Unpack: input shape {} has {} slices along axis {axis}, the node expects {num}",
                Shape::from(x.shape()),
                x.shape()[ax]
            )));
        }
        let parts: Vec<Tensor> =
            match_tensor!(x, a => (0..num).map(|i| out(a.index_axis(Axis(ax), i).to_owned())).collect());
        for t in parts {
            ctx.output(t);
        }
        Ok(())
    })))
}

fn slice(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let begin = int_values(ctx.input(1)?, "Slice's begin")?;
        let size = int_values(ctx.input(2)?, "Slice's size")?;
        let x = ctx.input(0)?;
        let dims = x.shape();
        if begin.len() != dims.len() || size.len() != dims.len() {
            return Err(Error::invalid_argument(format!(
                "Slice: begin {begin:?} and size {size:?} must have one entry per dimension of {}",
                Shape::from(dims)
            )));
        }
        let mut starts = Vec::with_capacity(dims.len());
        let mut sizes = Vec::with_capacity(dims.len());
        for ((&b, &s), &d) in begin.iter().zip(&size).zip(dims) {
            let d = d as i64;
            let end = if s == -1 { d } else { b + s };
            if b < 0 || b > d || s < -1 || end > d {
                return Err(Error::invalid_argument(format!(
                    "Slice: begin {begin:?} and size {size:?} are out of bounds for shape {}",
                    Shape::from(dims)
                )));
            }
            starts.push(b as usize);
            sizes.push((end - b) as usize);
        }
        let t = match_tensor!(x, a => slice_copy(a, &starts, &sizes)?);
        ctx.output(t);
        Ok(())
    })))
}

/// Copies the box `starts .. starts + sizes` of `a` in contiguous runs: the trailing axes taken whole and
/// the innermost partial one form one run, so a batch slice is a handful of `memcpy`s.
fn slice_copy<T: TensorElement>(a: &ArcArray<T, IxDyn>, starts: &[usize], sizes: &[usize]) -> Result<Tensor> {
    let std = a.as_standard_layout();
    let src = std.as_slice().ok_or_else(|| Error::internal("standard layout array is not contiguous"))?;
    let dims = a.shape();
    let rank = dims.len();
    let total: usize = sizes.iter().product();
    let mut data = Vec::with_capacity(total);
    if rank == 0 {
        return Ok(Tensor::from(a.clone()));
    }
    if total > 0 {
        // k: the innermost axis that is not taken whole; everything after it is contiguous.
        let k = (0..rank).rev().find(|&i| starts[i] != 0 || sizes[i] != dims[i]).unwrap_or(0);
        let inner: usize = dims[k + 1..].iter().product();
        let run = sizes[k] * inner;
        let strides: Vec<usize> = (0..rank).map(|i| dims[i + 1..].iter().product()).collect();
        let mut idx = vec![0usize; k];
        loop {
            let base: usize =
                idx.iter().zip(starts).zip(&strides).map(|((i, s), st)| (i + s) * st).sum::<usize>()
                    + starts.get(k).map_or(0, |s| s * inner);
            data.extend_from_slice(&src[base..base + run]);
            // Odometer over the outer axes 0..k.
            let mut axis = k;
            loop {
                if axis == 0 {
                    return Tensor::from_vec(sizes, data);
                }
                axis -= 1;
                idx[axis] += 1;
                if idx[axis] < sizes[axis] {
                    break;
                }
                idx[axis] = 0;
            }
        }
    }
    Tensor::from_vec(sizes, data)
}

fn masks_of(node: &Node) -> StridedSliceMasks {
    let a = &node.attrs;
    StridedSliceMasks {
        begin_mask: a.int_or("begin_mask", 0),
        end_mask: a.int_or("end_mask", 0),
        shrink_axis_mask: a.int_or("shrink_axis_mask", 0),
    }
}

/// The ndarray slice that takes `axis.count` elements from `axis.start` in steps of `axis.stride`.
fn nd_slice(axis: &StridedAxis) -> Slice {
    if axis.count == 0 {
        return Slice::new(0, Some(0), 1);
    }
    let last = axis.start + (axis.count as i64 - 1) * axis.stride;
    if axis.stride > 0 {
        Slice::new(axis.start as isize, Some(last as isize + 1), axis.stride as isize)
    } else {
        // ndarray walks a negative-step range from its end: start, start + stride, ... down to `last`.
        Slice::new(last as isize, Some(axis.start as isize + 1), axis.stride as isize)
    }
}

/// The resolved axes of a `StridedSlice`/`StridedSliceGrad` and the output shape (shrunk axes removed).
fn strided_spec(
    dims: &[usize],
    ctx: &OpKernelContext<'_>,
    first: usize,
    masks: StridedSliceMasks,
) -> Result<(Vec<StridedAxis>, Vec<usize>)> {
    let begin = int_values(ctx.input(first)?, "StridedSlice's begin")?;
    let end = int_values(ctx.input(first + 1)?, "StridedSlice's end")?;
    let strides = int_values(ctx.input(first + 2)?, "StridedSlice's strides")?;
    let axes = strided_slice_axes(dims, &begin, &end, &strides, masks)?;
    let shape = axes.iter().filter(|a| !a.shrink).map(|a| a.count).collect();
    Ok((axes, shape))
}

fn strided_slice(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let masks = masks_of(init.node);
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let x = ctx.input(0)?;
        let (axes, shape) = strided_spec(x.shape(), ctx, 1, masks)?;
        let sliced = match_tensor!(x, a => out(a.slice_each_axis(|ax| nd_slice(&axes[ax.axis.index()])).as_standard_layout().into_owned()));
        ctx.output(sliced.reshape(&shape)?);
        Ok(())
    })))
}

fn scatter_strided<T: TensorElement>(
    dy: &ArcArray<T, IxDyn>,
    dims: &[usize],
    axes: &[StridedAxis],
) -> Result<Tensor> {
    let counts: Vec<usize> = axes.iter().map(|a| a.count).collect();
    let src = dy.as_standard_layout().into_owned().into_shape_with_order(IxDyn(&counts))?;
    let mut dx = ArrayD::<T>::default(IxDyn(dims));
    dx.slice_each_axis_mut(|ax| nd_slice(&axes[ax.axis.index()])).assign(&src);
    Ok(out(dx))
}

fn strided_slice_grad(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let masks = masks_of(init.node);
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let dims = dims_of(ctx.input(0)?, "StridedSliceGrad's shape")?;
        let (axes, shape) = strided_spec(&dims, ctx, 1, masks)?;
        let dy = ctx.input(4)?;
        if dy.shape() != shape.as_slice() {
            return Err(Error::invalid_argument(format!(
                "StridedSliceGrad: gradient has shape {}, the slice {}",
                Shape::from(dy.shape()),
                Shape::from(shape.as_slice())
            )));
        }
        let t = match_tensor!(dy, a => scatter_strided(a, &dims, &axes)?);
        ctx.output(t);
        Ok(())
    })))
}

/// Indices as `usize`, each checked against `limit`.
fn checked_indices(t: &Tensor, limit: usize, what: &str) -> Result<Vec<usize>> {
    int_values(t, what)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            usize::try_from(v).ok().filter(|&u| u < limit).ok_or_else(|| {
                Error::invalid_argument(format!("{what}: indices[{i}] = {v} is not in [0, {limit})"))
            })
        })
        .collect()
}

fn gather(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let params = ctx.input(0)?;
        let indices = ctx.input(1)?;
        let axis = axis_in(scalar_int(ctx.input(2)?, "GatherV2's axis")?, params.rank(), "GatherV2")?;
        let idx = checked_indices(indices, params.shape()[axis], "GatherV2")?;
        let mut shape = params.shape()[..axis].to_vec();
        shape.extend_from_slice(indices.shape());
        shape.extend_from_slice(&params.shape()[axis + 1..]);
        let t = match_tensor!(params, a => out(a.select(Axis(axis), &idx)));
        ctx.output(t.reshape(&shape)?);
        Ok(())
    })))
}

fn segment_sum_typed<T: Arith>(data: &Tensor, ids: &[i64], ids_rank: usize, num: usize) -> Result<Tensor> {
    let d = data.array::<T>()?;
    let rest = &d.shape()[ids_rank.min(d.ndim())..];
    let inner: usize = rest.iter().product();
    let src = d.as_standard_layout();
    let src = src.as_slice().ok_or_else(|| Error::internal("standard layout array is not contiguous"))?;
    let mut outv = vec![T::default(); num * inner];
    for (row, &id) in ids.iter().enumerate() {
        if id < 0 {
            continue; // TF drops negative ids.
        }
        let id = id as usize;
        if id >= num {
            return Err(Error::invalid_argument(format!(
                "UnsortedSegmentSum: segment_ids[{row}] = {id} is out of range [0, {num})"
            )));
        }
        for (o, &v) in outv[id * inner..][..inner].iter_mut().zip(&src[row * inner..][..inner]) {
            *o = o.add(v);
        }
    }
    let mut shape = vec![num];
    shape.extend_from_slice(rest);
    Tensor::from_vec(&shape, outv)
}

fn unsorted_segment_sum(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let (data, ids_t) = (ctx.input(0)?, ctx.input(1)?);
        let num = usize::try_from(scalar_int(ctx.input(2)?, "num_segments")?)
            .map_err(|_| Error::invalid_argument("UnsortedSegmentSum: num_segments is negative"))?;
        if !data.shape().starts_with(ids_t.shape()) {
            return Err(Error::invalid_argument(format!(
                "UnsortedSegmentSum: data shape {} must start with segment_ids shape {}",
                Shape::from(data.shape()),
                Shape::from(ids_t.shape())
            )));
        }
        let ids = int_values(ids_t, "segment_ids")?;
        let r = ids_t.rank();
        let t = match data.dtype() {
            DType::F32 => segment_sum_typed::<f32>(data, &ids, r, num)?,
            DType::F64 => segment_sum_typed::<f64>(data, &ids, r, num)?,
            DType::I32 => segment_sum_typed::<i32>(data, &ids, r, num)?,
            DType::I64 => segment_sum_typed::<i64>(data, &ids, r, num)?,
            d => return Err(Error::invalid_argument(format!("UnsortedSegmentSum does not support {d}"))),
        };
        ctx.output(t);
        Ok(())
    })))
}

fn one_hot_typed<T: TensorElement>(
    on: &ArcArray<T, IxDyn>,
    off: &Tensor,
    idx: &[i64],
    shape: &[usize],
    depth: usize,
) -> Result<Tensor> {
    let on = on.iter().next().cloned().ok_or_else(|| Error::invalid_argument("OneHot: on_value is empty"))?;
    let off = off
        .view::<T>()?
        .iter()
        .next()
        .cloned()
        .ok_or_else(|| Error::invalid_argument("OneHot: off_value is empty"))?;
    let mut v = vec![off; idx.len() * depth];
    for (row, &i) in idx.iter().enumerate() {
        if let Ok(i) = usize::try_from(i) {
            if i < depth {
                v[row * depth + i] = on.clone();
            }
        }
    }
    let mut dims = shape.to_vec();
    dims.push(depth);
    Tensor::from_vec(&dims, v)
}

fn one_hot(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let indices = ctx.input(0)?;
        let idx: Vec<i64> = match indices {
            Tensor::U8(a) => a.iter().map(|&v| i64::from(v)).collect(),
            other => int_values(other, "OneHot's indices")?,
        };
        let depth = usize::try_from(scalar_int(ctx.input(1)?, "OneHot's depth")?)
            .map_err(|_| Error::invalid_argument("OneHot: depth must be non-negative"))?;
        let off = ctx.input(3)?;
        let t = match_tensor!(ctx.input(2)?, a => one_hot_typed(a, off, &idx, indices.shape(), depth)?);
        ctx.output(t);
        Ok(())
    })))
}

fn zeros_like(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let x = ctx.input(0)?;
        let t = Tensor::zeros(x.dtype(), x.shape());
        ctx.output(t);
        Ok(())
    })))
}

fn ones_like(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let x = ctx.input(0)?;
        let t = Tensor::from_vec(x.shape(), vec![1.0f64; x.num_elements()])?.cast(x.dtype())?;
        ctx.output(t);
        Ok(())
    })))
}

fn size(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let n = i32::try_from(ctx.input(0)?.num_elements())
            .map_err(|_| Error::invalid_argument("Size: more elements than int32 holds"))?;
        ctx.output(Tensor::scalar(n));
        Ok(())
    })))
}

fn rank(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let r = ctx.input(0)?.rank() as i32;
        ctx.output(Tensor::scalar(r));
        Ok(())
    })))
}

fn tile_typed<T: TensorElement>(a: &ArcArray<T, IxDyn>, multiples: &[usize]) -> Result<Tensor> {
    let shape: Vec<usize> = a.shape().iter().zip(multiples).map(|(d, m)| d * m).collect();
    if shape.contains(&0) {
        return Ok(out(ArrayD::<T>::default(IxDyn(&shape))));
    }
    let mut cur = a.to_owned();
    for (i, &m) in multiples.iter().enumerate() {
        if m > 1 {
            let views = vec![cur.view(); m];
            cur = ndarray::concatenate(Axis(i), &views)?;
        }
    }
    Ok(out(standard(cur)))
}

fn tile(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let multiples = dims_of(ctx.input(1)?, "Tile's multiples")?;
        let x = ctx.input(0)?;
        if multiples.len() != x.rank() {
            return Err(Error::invalid_argument(format!(
                "Tile: multiples {multiples:?} must have one entry per dimension of {}",
                Shape::from(x.shape())
            )));
        }
        let t = match_tensor!(x, a => tile_typed(a, &multiples)?);
        ctx.output(t);
        Ok(())
    })))
}

fn pad_typed<T: TensorElement>(a: &ArcArray<T, IxDyn>, pads: &[(usize, usize)]) -> Tensor {
    let shape: Vec<usize> = a.shape().iter().zip(pads).map(|(d, (b, e))| d + b + e).collect();
    let mut o = ArrayD::<T>::default(IxDyn(&shape));
    o.slice_each_axis_mut(|ax| {
        let (b, _) = pads[ax.axis.index()];
        Slice::new(b as isize, Some((b + a.shape()[ax.axis.index()]) as isize), 1)
    })
    .assign(a);
    out(o)
}

fn pad(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let p = ctx.input(1)?;
        let x = ctx.input(0)?;
        let flat = dims_of(p, "Pad's paddings")?;
        if p.shape() != [x.rank(), 2] {
            return Err(Error::invalid_argument(format!(
                "Pad: paddings must be [{}, 2], got {}",
                x.rank(),
                Shape::from(p.shape())
            )));
        }
        let pads: Vec<(usize, usize)> = flat.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        let t = match_tensor!(x, a => pad_typed(a, &pads));
        ctx.output(t);
        Ok(())
    })))
}

fn batch_matmul_typed<T: GemmElement + TensorElement>(
    x: &Tensor,
    y: &Tensor,
    adj: (bool, bool),
    threads: usize,
) -> Result<Tensor> {
    let (a, b) = (x.array::<T>()?, y.array::<T>()?);
    let (ra, rb) = (a.ndim(), b.ndim());
    if ra < 2 || ra != rb || a.shape()[..ra - 2] != b.shape()[..rb - 2] {
        return Err(Error::invalid_argument(format!(
            "BatchMatMul: shapes {} and {} must be batches of matrices with the same batch dimensions",
            Shape::from(a.shape()),
            Shape::from(b.shape())
        )));
    }
    let batch_dims = &a.shape()[..ra - 2];
    let batch: usize = batch_dims.iter().product();
    let a3 = a.as_standard_layout().into_owned().into_shape_with_order((
        batch,
        a.shape()[ra - 2],
        a.shape()[ra - 1],
    ))?;
    let b3 = b.as_standard_layout().into_owned().into_shape_with_order((
        batch,
        b.shape()[rb - 2],
        b.shape()[rb - 1],
    ))?;
    let mut results = Vec::with_capacity(batch);
    for i in 0..batch {
        let ma = a3.index_axis(Axis(0), i);
        let mb = b3.index_axis(Axis(0), i);
        let ma = if adj.0 { ma.reversed_axes() } else { ma };
        let mb = if adj.1 { mb.reversed_axes() } else { mb };
        results.push(gemm_matmul(ma, mb, threads)?);
    }
    let (m, n) = if adj.0 { (a.shape()[ra - 1], 0) } else { (a.shape()[ra - 2], 0) };
    let n = if adj.1 { b.shape()[rb - 2] } else { b.shape()[rb - 1] }.max(n);
    let views: Vec<_> = results.iter().map(|r| r.view()).collect();
    let stacked: ndarray::Array3<T> =
        if views.is_empty() { ndarray::Array3::default((0, m, n)) } else { ndarray::stack(Axis(0), &views)? };
    let mut shape = batch_dims.to_vec();
    shape.extend([m, n]);
    Ok(out(stacked.into_dimensionality::<Ix3>()?.into_shape_with_order(IxDyn(&shape))?))
}

fn batch_matmul(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let adj = (init.node.attrs.bool_or("adj_x", false), init.node.attrs.bool_or("adj_y", false));
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let (x, y) = (ctx.input(0)?, ctx.input(1)?);
        let t = match x.dtype() {
            DType::F32 => batch_matmul_typed::<f32>(x, y, adj, ctx.threads)?,
            DType::F64 => batch_matmul_typed::<f64>(x, y, adj, ctx.threads)?,
            d => return Err(Error::invalid_argument(format!("BatchMatMul does not support {d}"))),
        };
        ctx.output(t);
        Ok(())
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_resolution_and_bcast_axes() -> Result<()> {
        assert_eq!(resolve_shape(&[-1, 4], 8, &[8])?, vec![2, 4]);
        assert!(resolve_shape(&[-1, 3], 8, &[8]).is_err());
        assert!(resolve_shape(&[-1, -1], 8, &[8]).is_err());
        assert_eq!(broadcast_reduction_axes(&[2, 3], &[3])?, (vec![], vec![0]));
        assert_eq!(broadcast_reduction_axes(&[2, 1], &[1, 3])?, (vec![1], vec![0]));
        assert!(broadcast_reduction_axes(&[2], &[3]).is_err());
        Ok(())
    }
}
