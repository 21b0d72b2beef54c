//! Element-wise arithmetic with broadcasting, `AddN` and reductions.

use super::int_values;
use crate::kernel::{FnKernel, KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{Error, Result, Shape, Tensor};
use ndarray::{ArcArray, ArrayD, Axis, IxDyn, Zip};
use rayon::prelude::*;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("Add", add),
    ("Sub", sub),
    ("Mul", mul),
    ("RealDiv", div),
    ("Neg", neg),
    ("Square", square),
    ("AddN", add_n),
    ("Sum", sum),
    ("Mean", mean),
    ("Prod", prod),
    ("Max", max),
    ("Min", min),
    ("ArgMax", arg_max),
    ("ArgMin", arg_min),
    ("ProdGrad", prod_grad),
];

/// Arrays with at least this many elements are processed by rayon in parallel.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Arithmetic every numeric element type supports, with integer semantics matching TF (wrapping
/// overflow, truncating division).
pub trait Arith: ferroflow_core::TensorElement + Copy + Send + Sync + PartialOrd + Default + 'static {
    /// `a + b`.
    fn add(self, b: Self) -> Self;
    /// `a - b`.
    fn sub(self, b: Self) -> Self;
    /// `a * b`.
    fn mul(self, b: Self) -> Self;
    /// `a / b` (callers reject integer division by zero).
    fn div(self, b: Self) -> Self;
    /// Whether this is an integer zero (a divisor TF rejects).
    fn is_int_zero(self) -> bool;
    /// The value one.
    fn one() -> Self;
    /// Conversion from a count.
    fn from_usize(n: usize) -> Self;
    /// The smallest value, the identity of `max`.
    fn lowest() -> Self;
    /// The largest value, the identity of `min`.
    fn highest() -> Self;
    /// Whether this is a float NaN (which max/min propagate, as TF does).
    fn is_nan(self) -> bool;
}

macro_rules! arith_float {
    ($t:ty) => {
        impl Arith for $t {
            fn add(self, b: Self) -> Self {
                self + b
            }
            fn sub(self, b: Self) -> Self {
                self - b
            }
            fn mul(self, b: Self) -> Self {
                self * b
            }
            fn div(self, b: Self) -> Self {
                self / b
            }
            fn is_int_zero(self) -> bool {
                false
            }
            fn one() -> Self {
                1.0
            }
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            fn highest() -> Self {
                <$t>::INFINITY
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
macro_rules! arith_int {
    ($t:ty) => {
        impl Arith for $t {
            fn add(self, b: Self) -> Self {
                self.wrapping_add(b)
            }
            fn sub(self, b: Self) -> Self {
                self.wrapping_sub(b)
            }
            fn mul(self, b: Self) -> Self {
                self.wrapping_mul(b)
            }
            fn div(self, b: Self) -> Self {
                self.checked_div(b).unwrap_or_default()
            }
            fn is_int_zero(self) -> bool {
                self == 0
            }
            fn one() -> Self {
                1
            }
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            fn lowest() -> Self {
                <$t>::MIN
            }
            fn highest() -> Self {
                <$t>::MAX
            }
            fn is_nan(self) -> bool {
                false
            }
        }
    };
}
arith_float!(f32);
arith_float!(f64);
arith_int!(i32);
arith_int!(i64);
arith_int!(u8);

/// `f(a, b)` element-wise with numpy broadcasting.
///
/// # Errors
/// `InvalidArgument` when the shapes do not broadcast.
pub fn broadcast_binary<T: Copy + Send + Sync, U: Send>(
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    f: impl Fn(T, T) -> U + Sync + Send,
) -> Result<ArrayD<U>> {
    if a.shape() == b.shape() {
        return Ok(zip_map(a.view(), b.view(), f));
    }
    if b.len() == 1 && b.ndim() <= a.ndim() {
        let y = *b.iter().next().ok_or_else(|| Error::internal("one-element array without element"))?;
        return Ok(map(a.view(), |x| f(x, y)));
    }
    if a.len() == 1 && a.ndim() <= b.ndim() {
        let x = *a.iter().next().ok_or_else(|| Error::internal("one-element array without element"))?;
        return Ok(map(b.view(), |y| f(x, y)));
    }
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let (av, bv) = match (a.broadcast(IxDyn(&shape)), b.broadcast(IxDyn(&shape))) {
        (Some(x), Some(y)) => (x, y),
        _ => return Err(incompatible(a.shape(), b.shape())),
    };
    Ok(zip_map(av, bv, f))
}

fn zip_map<T: Copy + Send + Sync, U: Send>(
    a: ndarray::ArrayViewD<'_, T>,
    b: ndarray::ArrayViewD<'_, T>,
    f: impl Fn(T, T) -> U + Sync + Send,
) -> ArrayD<U> {
    let z = Zip::from(&a).and(&b);
    if a.len() >= PARALLEL_THRESHOLD {
        z.par_map_collect(|&x, &y| f(x, y))
    } else {
        z.map_collect(|&x, &y| f(x, y))
    }
}

/// `f(a)` element-wise, in parallel for large arrays.
pub fn map<T: Copy + Send + Sync, U: Send>(
    a: ndarray::ArrayViewD<'_, T>,
    f: impl Fn(T) -> U + Sync + Send,
) -> ArrayD<U> {
    let z = Zip::from(&a);
    if a.len() >= PARALLEL_THRESHOLD {
        z.par_map_collect(|&x| f(x))
    } else {
        z.map_collect(|&x| f(x))
    }
}

fn incompatible(a: &[usize], b: &[usize]) -> Error {
    Error::invalid_argument(format!("Incompatible shapes: {} vs. {}", Shape::from(a), Shape::from(b)))
}

/// The numpy broadcast of two shapes.
///
/// # Errors
/// `InvalidArgument` when incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let x = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
            let y = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
            match (x, y) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(incompatible(a, b)),
            }
        })
        .collect()
}

macro_rules! binary_kernel {
    ($fn_name:ident, $method:ident, $check_zero:expr) => {
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let out = binary_dispatch(
                    ctx.input(0)?,
                    ctx.input(1)?,
                    $check_zero,
                    |a, b| broadcast_binary(a, b, |x, y| Arith::$method(x, y)),
                    |a, b| broadcast_binary(a, b, |x, y| Arith::$method(x, y)),
                    |a, b| broadcast_binary(a, b, |x, y| Arith::$method(x, y)),
                    |a, b| broadcast_binary(a, b, |x, y| Arith::$method(x, y)),
                    |a, b| broadcast_binary(a, b, |x, y| Arith::$method(x, y)),
                )?;
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

type Bin<T> = fn(&ArcArray<T, IxDyn>, &ArcArray<T, IxDyn>) -> Result<ArrayD<T>>;

#[allow(clippy::too_many_arguments)] // one monomorphized closure per dtype
fn binary_dispatch(
    a: &Tensor,
    b: &Tensor,
    check_zero: bool,
    f32_: Bin<f32>,
    f64_: Bin<f64>,
    i32_: Bin<i32>,
    i64_: Bin<i64>,
    u8_: Bin<u8>,
) -> Result<Tensor> {
    fn no_zero<T: Arith>(b: &ArcArray<T, IxDyn>, check: bool) -> Result<()> {
        if check && b.iter().any(|v| v.is_int_zero()) {
            return Err(Error::invalid_argument("Integer division by zero"));
        }
        Ok(())
    }
    Ok(match (a, b) {
        (Tensor::F32(x), Tensor::F32(y)) => f32_(x, y)?.into(),
        (Tensor::F64(x), Tensor::F64(y)) => f64_(x, y)?.into(),
        (Tensor::I32(x), Tensor::I32(y)) => {
            no_zero(y, check_zero)?;
            i32_(x, y)?.into()
        }
        (Tensor::I64(x), Tensor::I64(y)) => {
            no_zero(y, check_zero)?;
            i64_(x, y)?.into()
        }
        (Tensor::U8(x), Tensor::U8(y)) => {
            no_zero(y, check_zero)?;
            u8_(x, y)?.into()
        }
        (x, y) => {
            return Err(Error::invalid_argument(format!(
                "operands must be numeric and of one dtype, got {} and {}",
                x.dtype(),
                y.dtype()
            )))
        }
    })
}

/// Add/Sub/Mul: inputs are taken by value so a uniquely held operand of the output's shape is
/// overwritten in place (the SGD update `lr * grad` and the gradient sums on the hot path).
macro_rules! owned_binary_kernel {
    ($fn_name:ident, $method:ident, $op:expr) => {
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let threads = ctx.threads;
                let (a, b) = (ctx.take_input(0)?, ctx.take_input(1)?);
                let out = super::cwise::numeric_pair_owned!(
                    a, b, x, y => super::cwise::binary_owned(x, y, threads, Arith::$method)?, $op
                );
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

owned_binary_kernel!(add, add, "Add");
owned_binary_kernel!(sub, sub, "Sub");
owned_binary_kernel!(mul, mul, "Mul");
binary_kernel!(div, div, true);

fn neg(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let out = crate::numeric_op!(ctx.input(0)?, a => map(a.view(), |x| Arith::sub(Default::default(), x)), "Neg")?;
        ctx.output(out);
        Ok(())
    })))
}

fn square(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let out = crate::numeric_op!(ctx.input(0)?, a => map(a.view(), |x| Arith::mul(x, x)), "Square")?;
        ctx.output(out);
        Ok(())
    })))
}

fn add_n(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn acc<T: Arith>(first: Tensor, rest: &[Tensor]) -> Result<Tensor> {
            let mut sum = first.into_array::<T>()?.into_owned();
            for t in rest {
                let x = t.view::<T>()?;
                if x.shape() != sum.shape() {
                    return Err(Error::invalid_argument(format!(
                        "AddN inputs must have one shape, got {} and {}",
                        Shape::from(sum.shape()),
                        Shape::from(x.shape())
                    )));
                }
                Zip::from(&mut sum).and(&x).for_each(|s, &v| *s = s.add(v));
            }
            Ok(Tensor::from(sum))
        }
        let first = ctx.take_input(0)?;
        let rest = &ctx.inputs[1..];
        let out = match first.dtype() {
            ferroflow_core::DType::F32 => acc::<f32>(first, rest)?,
            ferroflow_core::DType::F64 => acc::<f64>(first, rest)?,
            ferroflow_core::DType::I32 => acc::<i32>(first, rest)?,
            ferroflow_core::DType::I64 => acc::<i64>(first, rest)?,
            d => return Err(Error::invalid_argument(format!("AddN does not support {d}"))),
        };
        ctx.output(out);
        Ok(())
    })))
}

/// The kind of a reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// Sum.
    Sum,
    /// Mean.
    Mean,
    /// Product.
    Prod,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// Inputs of at least this many values are summed in [`SUM_BLOCKS`] blocks of rows, on rayon when the
/// kernel has several threads: one core cannot stream a bias gradient's megabytes as fast as two.
const PARALLEL_SUM_VALUES: usize = 1 << 18;

/// Blocks a large sum is cut into, whatever the thread count, so its result does not depend on it.
const SUM_BLOCKS: usize = 8;

/// The sum of the rows (`inner` values each) of a row-major matrix: one pass adding rows into an
/// accumulator, per block of rows for large inputs (in parallel on more than one thread), the blocks'
/// sums then added in order.
fn sum_rows<T: Arith>(data: &[T], inner: usize, threads: usize) -> Vec<T> {
    let add_rows = |rows: &[T]| {
        if inner == 1 {
            return vec![sum_all(rows)];
        }
        let mut acc = vec![T::default(); inner];
        for row in rows.chunks_exact(inner.max(1)) {
            for (s, &v) in acc.iter_mut().zip(row) {
                *s = s.add(v);
            }
        }
        acc
    };
    if inner == 0 || data.len() < PARALLEL_SUM_VALUES {
        return add_rows(data);
    }
    let block = (data.len() / inner).div_ceil(SUM_BLOCKS) * inner;
    let parts: Vec<Vec<T>> = if threads > 1 {
        data.par_chunks(block).map(add_rows).collect()
    } else {
        data.chunks(block).map(add_rows).collect()
    };
    let mut parts = parts.into_iter();
    let mut total = parts.next().unwrap_or_else(|| vec![T::default(); inner]);
    for part in parts {
        for (t, v) in total.iter_mut().zip(part) {
            *t = t.add(v);
        }
    }
    total
}

/// Independent partial sums of a full reduction: one running sum is a chain of dependent adds (4 cycles
/// each), while this many vectorize and overlap.
const SUM_LANES: usize = 16;

/// The sum of all of `values`, lane `i` taking every `SUM_LANES`-th value from `i`, the lanes then
/// added in order.
fn sum_all<T: Arith>(values: &[T]) -> T {
    let mut lanes = [T::default(); SUM_LANES];
    let mut chunks = values.chunks_exact(SUM_LANES);
    for chunk in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l = l.add(v);
        }
    }
    let tail = chunks.remainder().iter().fold(T::default(), |s, &v| s.add(v));
    lanes.iter().fold(T::default(), |s, &l| s.add(l)).add(tail)
}

/// Reduces `a` over `axes` (normalized, any order), keeping them as size 1 when `keep_dims`, on up to
/// `threads` threads (the result does not depend on their number).
///
/// # Errors
/// `InvalidArgument` for an axis out of range.
pub fn reduce<T: Arith>(
    a: &ArcArray<T, IxDyn>,
    axes: &[i64],
    keep_dims: bool,
    kind: Reduce,
    threads: usize,
) -> Result<ArrayD<T>> {
    let rank = a.ndim() as i64;
    let mut norm = Vec::with_capacity(axes.len());
    for &ax in axes {
        if ax < -rank || ax >= rank.max(1) && !(rank == 0 && ax == 0) {
            return Err(Error::invalid_argument(format!(
                "Invalid reduction dimension {ax} for input with {rank} dimensions"
            )));
        }
        if rank > 0 {
            norm.push(((ax + rank) % rank) as usize);
        }
    }
    norm.sort_unstable();
    norm.dedup();
    let count: usize = norm.iter().map(|&i| a.shape()[i]).product();
    // Summing over leading axes of a row-major array (bias gradients: all but the channel axis) is one
    // pass adding rows into an accumulator, with no copy of the input and contiguous inner loops.
    let leading = !norm.is_empty() && norm.iter().enumerate().all(|(i, &ax)| i == ax);
    let fast = match (leading && matches!(kind, Reduce::Sum | Reduce::Mean), a.as_slice()) {
        (true, Some(data)) => {
            let inner: usize = a.shape()[norm.len()..].iter().product();
            Some(ArrayD::from_shape_vec(IxDyn(&a.shape()[norm.len()..]), sum_rows(data, inner, threads))?)
        }
        _ => None,
    };
    let summed = fast.is_some();
    let mut out: ArrayD<T> = match fast {
        Some(out) => out,
        None => a.to_owned(),
    };
    for &ax in norm.iter().rev().filter(|_| !summed) {
        out = match kind {
            Reduce::Sum | Reduce::Mean => out.fold_axis(Axis(ax), T::default(), |acc, &x| acc.add(x)),
            Reduce::Prod => out.fold_axis(Axis(ax), T::one(), |acc, &x| acc.mul(x)),
            Reduce::Max => {
                out.fold_axis(Axis(ax), T::lowest(), |acc, &x| if x > *acc || x.is_nan() { x } else { *acc })
            }
            Reduce::Min => {
                out.fold_axis(Axis(ax), T::highest(), |acc, &x| if x < *acc || x.is_nan() { x } else { *acc })
            }
        };
    }
    if kind == Reduce::Mean {
        let n = T::from_usize(count.max(1));
        out.mapv_inplace(|x| x.div(n));
    }
    if keep_dims {
        let mut dims = a.shape().to_vec();
        for &ax in &norm {
            dims[ax] = 1;
        }
        out = out.into_shape_with_order(IxDyn(&dims))?;
    }
    Ok(out)
}

macro_rules! reduce_kernel {
    ($fn_name:ident, $kind:expr, $name:expr) => {
        fn $fn_name(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            let keep = init.node.attrs.bool_or("keep_dims", false);
            Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
                let axes = int_values(ctx.input(1)?, concat!($name, "'s axes"))?;
                if axes.is_empty() {
                    // No axes: the input itself (a shared, copy-on-write array), not a copy of it.
                    let input = ctx.take_input(0)?;
                    ctx.output(input);
                    return Ok(());
                }
                let threads = ctx.threads;
                let out =
                    crate::numeric_op!(ctx.input(0)?, a => reduce(a, &axes, keep, $kind, threads)?, $name)?;
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

reduce_kernel!(sum, Reduce::Sum, "Sum");
reduce_kernel!(mean, Reduce::Mean, "Mean");
reduce_kernel!(prod, Reduce::Prod, "Prod");
reduce_kernel!(max, Reduce::Max, "Max");
reduce_kernel!(min, Reduce::Min, "Min");

/// The index of the first largest (`max`) or smallest element along `axis`, as TF's `ArgMax`/`ArgMin`.
///
/// # Errors
/// `InvalidArgument` for an axis out of range or an empty reduced dimension.
pub fn arg_reduce<T: Arith>(a: &ArcArray<T, IxDyn>, axis: i64, max: bool) -> Result<ArrayD<i64>> {
    let rank = a.ndim() as i64;
    if axis < -rank || axis >= rank {
        return Err(Error::invalid_argument(format!(
            "Expected dimension in the range [{}, {rank}), but got {axis}",
            -rank
        )));
    }
    let ax = Axis(((axis + rank) % rank) as usize);
    if a.len_of(ax) == 0 {
        return Err(Error::invalid_argument(format!(
            "Reduction axis {} is empty in shape {}",
            ax.0,
            Shape::from(a.shape())
        )));
    }
    Ok(a.map_axis(ax, |lane| {
        let mut best = 0usize;
        let mut best_v = T::default();
        for (i, &v) in lane.iter().enumerate() {
            let better = i == 0 || if max { v > best_v } else { v < best_v };
            if better {
                best = i;
                best_v = v;
            }
        }
        best as i64
    }))
}

macro_rules! arg_kernel {
    ($fn_name:ident, $max:expr, $name:expr) => {
        fn $fn_name(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            let out_type = init.node.attrs.dtype("output_type").unwrap_or(ferroflow_core::DType::I64);
            Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
                let axis = match int_values(ctx.input(1)?, concat!($name, "'s dimension"))?.as_slice() {
                    [a] => *a,
                    _ => return Err(Error::invalid_argument(concat!($name, ": dimension must be a scalar"))),
                };
                let idx: ArrayD<i64> = match ctx.input(0)? {
                    Tensor::F32(a) => arg_reduce(a, axis, $max)?,
                    Tensor::F64(a) => arg_reduce(a, axis, $max)?,
                    Tensor::I32(a) => arg_reduce(a, axis, $max)?,
                    Tensor::I64(a) => arg_reduce(a, axis, $max)?,
                    Tensor::U8(a) => arg_reduce(a, axis, $max)?,
                    other => {
                        return Err(Error::invalid_argument(format!(
                            "{} does not support {}",
                            $name,
                            other.dtype()
                        )))
                    }
                };
                let out = Tensor::from(idx);
                ctx.output(if out_type == ferroflow_core::DType::I32 { out.cast(out_type)? } else { out });
                Ok(())
            })))
        }
    };
}

arg_kernel!(arg_max, true, "ArgMax");
arg_kernel!(arg_min, false, "ArgMin");

/// The gradient of a product over `axes`: each element gets `dy` of its group times the product of the
/// group's other elements, from exclusive prefix and suffix products (no division, so zeros are exact).
///
/// # Errors
/// `InvalidArgument` for an axis out of range or a `dy` whose size does not match the reduced shape.
pub fn prod_grad_array<T: Arith>(
    x: &ArcArray<T, IxDyn>,
    axes: &[i64],
    dy: &ArcArray<T, IxDyn>,
) -> Result<ArrayD<T>> {
    let rank = x.ndim() as i64;
    let mut reduced = vec![false; x.ndim()];
    for &ax in axes {
        if ax < -rank || ax >= rank.max(1) {
            return Err(Error::invalid_argument(format!(
                "Invalid reduction dimension {ax} for input with {rank} dimensions"
            )));
        }
        if rank > 0 {
            reduced[((ax + rank) % rank) as usize] = true;
        }
    }
    // Kept axes first, reduced axes last, so that each group is one contiguous row of the permuted copy.
    let perm: Vec<usize> =
        (0..x.ndim()).filter(|&i| !reduced[i]).chain((0..x.ndim()).filter(|&i| reduced[i])).collect();
    let group: usize = (0..x.ndim()).filter(|&i| reduced[i]).map(|i| x.shape()[i]).product();
    let xp = x.view().permuted_axes(IxDyn(&perm));
    let permuted_shape = xp.shape().to_vec();
    let xp = xp.as_standard_layout();
    let data = xp.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let groups = data.len().checked_div(group).unwrap_or(0);
    if dy.len() != groups && group != 0 {
        return Err(Error::invalid_argument(format!(
            "ProdGrad: dy has {} elements for {groups} reduced groups",
            dy.len()
        )));
    }
    let dy = dy.as_standard_layout();
    let dy = dy.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let mut out = vec![T::default(); data.len()];
    if group > 0 {
        for ((row, out_row), &d) in data.chunks_exact(group).zip(out.chunks_exact_mut(group)).zip(dy) {
            let mut prefix = T::one();
            for (o, &v) in out_row.iter_mut().zip(row) {
                *o = prefix;
                prefix = prefix.mul(v);
            }
            let mut suffix = T::one();
            for (o, &v) in out_row.iter_mut().zip(row).rev() {
                *o = o.mul(suffix).mul(d);
                suffix = suffix.mul(v);
            }
        }
    }
    let mut inverse = vec![0usize; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    let permuted = ArrayD::from_shape_vec(IxDyn(&permuted_shape), out)?;
    Ok(permuted.permuted_axes(IxDyn(&inverse)).as_standard_layout().into_owned())
}

fn prod_grad(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let axes = int_values(ctx.input(1)?, "ProdGrad's axes")?;
        let out = match (ctx.input(0)?, ctx.input(2)?) {
            (Tensor::F32(x), Tensor::F32(d)) => Tensor::from(prod_grad_array(x, &axes, d)?),
            (Tensor::F64(x), Tensor::F64(d)) => Tensor::from(prod_grad_array(x, &axes, d)?),
            (x, d) => {
                return Err(Error::invalid_argument(format!(
                    "ProdGrad expects float tensors of one dtype, got {} and {}",
                    x.dtype(),
                    d.dtype()
                )))
            }
        };
        ctx.output(out);
        Ok(())
    })))
}

#[cfg(test)]
mod tests {
    /// The blocked sum of a large input (bias gradient shaped) against a sum in f64, and the same bits
    /// whatever the rayon pool's size.
    #[test]
    fn large_leading_axis_sums_are_blocked_and_deterministic() -> Result<()> {
        let (rows, inner) = (50_000, 32);
        let data: Vec<f32> = (0..rows * inner).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        assert!(data.len() >= PARALLEL_SUM_VALUES);
        let got = sum_rows(&data, inner, 2);
        for (j, g) in got.iter().enumerate() {
            let exact: f64 = data.iter().skip(j).step_by(inner).map(|&v| f64::from(v)).sum();
            assert!((f64::from(*g) - exact).abs() < 1e-2, "column {j}: {g} vs {exact}");
        }
        // A full reduction (one column) in lanes, small and large, against f64.
        for len in [1, 15, 16, 1000, data.len()] {
            let exact: f64 = data[..len].iter().map(|&v| f64::from(v)).sum();
            let scale: f64 = data[..len].iter().map(|&v| f64::from(v.abs())).sum();
            let got = sum_rows(&data[..len], 1, 2);
            let err = (f64::from(got[0]) - exact).abs();
            assert!(err <= 1e-6 * scale + 1e-5, "{len} values: {} vs {exact}", got[0]);
        }
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| Error::internal(e.to_string()))?;
        assert_eq!(one.install(|| sum_rows(&data, inner, 2)), got);
        assert_eq!(sum_rows(&data, inner, 1), got, "one kernel thread, same blocks, same bits");
        Ok(())
    }

    use super::*;

    #[test]
    fn broadcasting_and_reductions() -> Result<()> {
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0f32, 2., 3., 4., 5., 6.])?.into_shared();
        let b = ArrayD::from_shape_vec(IxDyn(&[3]), vec![10.0f32, 20., 30.])?.into_shared();
        let c = broadcast_binary(&a, &b, |x, y| x + y)?;
        assert_eq!(c.iter().copied().collect::<Vec<_>>(), vec![11., 22., 33., 14., 25., 36.]);
        let s = reduce(&a, &[0], false, Reduce::Sum, 1)?;
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![5., 7., 9.]);
        let m = reduce(&a, &[-1], true, Reduce::Mean, 2)?;
        assert_eq!(m.shape(), &[2, 1]);
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), vec![2., 5.]);
        assert!(reduce(&a, &[2], false, Reduce::Sum, 1).is_err());
        let bad = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0f32, 2.])?.into_shared();
        assert!(broadcast_binary(&a, &bad, |x, y| x + y).is_err());
        Ok(())
    }

    #[test]
    fn arg_max_min_and_prod_grad() -> Result<()> {
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0f32, 5., 5., 4., -2., 0.])?.into_shared();
        assert_eq!(arg_reduce(&a, 1, true)?.into_raw_vec_and_offset().0, vec![1, 0], "first of ties");
        assert_eq!(arg_reduce(&a, 0, false)?.into_raw_vec_and_offset().0, vec![0, 1, 1]);
        assert_eq!(arg_reduce(&a, -1, false)?.into_raw_vec_and_offset().0, vec![0, 1]);
        assert!(arg_reduce(&a, 2, true).is_err());
        let empty = ArrayD::<f32>::zeros(IxDyn(&[2, 0])).into_shared();
        assert!(arg_reduce(&empty, 1, true).is_err());

        // Row [2, 0, 3]: products of the others are [0, 6, 0]; row [1, 4, 5]: [20, 5, 4].
        let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![2.0f64, 0., 3., 1., 4., 5.])?.into_shared();
        let dy = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0f64, 2.0])?.into_shared();
        let g = prod_grad_array(&x, &[1], &dy)?;
        assert_eq!(g.into_raw_vec_and_offset().0, vec![0., 6., 0., 40., 10., 8.]);
        let dy0 = ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![1.0f64, 1.0, 1.0])?.into_shared();
        let g0 = prod_grad_array(&x, &[0], &dy0)?;
        assert_eq!(g0.into_raw_vec_and_offset().0, vec![1., 4., 5., 2., 0., 3.]);
        Ok(())
    }
}
