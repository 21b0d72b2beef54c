//! Element-wise math beyond arithmetic (TF's `cwise_op_*.cc`): transcendental functions and their
//! gradient kernels, maximum/minimum/pow, comparisons, logical ops and `Select`.
//!
//! Kernels take their inputs by value so that a buffer no one else holds is overwritten in place
//! (`ArcArray::into_owned` does not copy a uniquely held array), which saves an allocation and a pass
//! over memory per op on the training hot path.

use super::math::{broadcast_binary, map, Arith, PARALLEL_THRESHOLD};
use crate::kernel::{FnKernel, KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{Error, Result, Shape, Tensor};
use ndarray::{ArcArray, ArrayD, Axis, IxDyn, Zip};
use rayon::prelude::*;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("Sqrt", sqrt),
    ("Rsqrt", rsqrt),
    ("Exp", exp),
    ("Log", log),
    ("Reciprocal", reciprocal),
    ("Sigmoid", sigmoid),
    ("Tanh", tanh),
    ("Abs", abs),
    ("Sign", sign),
    ("SqrtGrad", sqrt_grad),
    ("RsqrtGrad", rsqrt_grad),
    ("ReciprocalGrad", reciprocal_grad),
    ("SigmoidGrad", sigmoid_grad),
    ("TanhGrad", tanh_grad),
    ("Maximum", maximum),
    ("Minimum", minimum),
    ("SquaredDifference", squared_difference),
    ("Pow", pow),
    ("Equal", equal),
    ("NotEqual", not_equal),
    ("Less", less),
    ("LessEqual", less_equal),
    ("Greater", greater),
    ("GreaterEqual", greater_equal),
    ("LogicalAnd", logical_and),
    ("LogicalOr", logical_or),
    ("LogicalNot", logical_not),
    ("Select", select),
];

/// Floating-point element types (f32, f64) with the functions activations need.
pub trait Float:
    Arith
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    /// Conversion from f64 (constants, attributes).
    fn from_f64(v: f64) -> Self;
    /// `e^x`.
    fn exp(self) -> Self;
    /// `e^x - 1`, accurate near 0.
    fn exp_m1(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate near 0.
    fn ln_1p(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Whether neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// Whether infinite.
    fn is_infinite(self) -> bool;
}

macro_rules! float_impl {
    ($t:ty) => {
        impl Float for $t {
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            fn is_infinite(self) -> bool {
                <$t>::is_infinite(self)
            }
        }
    };
}
float_impl!(f32);
float_impl!(f64);

/// Whether element-wise work on `len` elements should be split across threads.
pub(crate) fn parallel(len: usize, threads: usize) -> bool {
    threads > 1 && len >= PARALLEL_THRESHOLD
}

/// `f(a)` element-wise, overwriting `a`'s buffer when no one else holds it.
pub fn unary_owned<T: Copy + Send + Sync>(
    a: ArcArray<T, IxDyn>,
    threads: usize,
    f: impl Fn(T) -> T + Sync + Send,
) -> ArrayD<T> {
    if !a.is_unique() {
        return map(a.view(), f);
    }
    let mut a = a.into_owned();
    if parallel(a.len(), threads) {
        a.par_mapv_inplace(f);
    } else {
        a.mapv_inplace(f);
    }
    a
}

/// `f(a, b)` element-wise with broadcasting, written into `a`'s or `b`'s buffer when that operand has
/// the output's shape and no one else holds it.
///
/// # Errors
/// `InvalidArgument` when the shapes do not broadcast.
pub fn binary_owned<T: Copy + Send + Sync>(
    a: ArcArray<T, IxDyn>,
    b: ArcArray<T, IxDyn>,
    threads: usize,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Result<ArrayD<T>> {
    let par = parallel(a.len().max(b.len()), threads);
    if (a.shape() == b.shape() || (b.len() == 1 && b.ndim() <= a.ndim())) && a.is_unique() {
        {
            let mut out = a.into_owned();
            if b.shape() == out.shape() {
                let z = Zip::from(&mut out).and(&b);
                if par {
                    z.par_for_each(|o, &y| *o = f(*o, y));
                } else {
                    z.for_each(|o, &y| *o = f(*o, y));
                }
            } else {
                let y =
                    *b.iter().next().ok_or_else(|| Error::internal("one-element array without element"))?;
                if par {
                    out.par_mapv_inplace(|x| f(x, y));
                } else {
                    out.mapv_inplace(|x| f(x, y));
                }
            }
            return Ok(out);
        }
    }
    if a.shape() == b.shape() && b.is_unique() {
        let mut out = b.into_owned();
        let z = Zip::from(&mut out).and(&a);
        if par {
            z.par_for_each(|o, &x| *o = f(x, *o));
        } else {
            z.for_each(|o, &x| *o = f(x, *o));
        }
        return Ok(out);
    }
    // `x + bias`: a uniquely held row-major operand and a smaller one matching its trailing dimensions
    // are combined in place, row by row, instead of through a broadcast view into a fresh array.
    let trailing = b.ndim() <= a.ndim() && !b.is_empty() && &a.shape()[a.ndim() - b.ndim()..] == b.shape();
    // When `a` is shared (a `Shape` node of the gradient still reads it), `into_owned` copies it first,
    // which is still one memcpy instead of a broadcast walk.
    if trailing && a.is_standard_layout() {
        if let Some(bs) = b.as_slice() {
            let mut out = a.into_owned();
            let data =
                out.as_slice_mut().ok_or_else(|| Error::internal("row-major array without a slice"))?;
            let row = |r: &mut [T]| r.iter_mut().zip(bs).for_each(|(o, &y)| *o = f(*o, y));
            if par {
                data.par_chunks_mut(bs.len()).with_min_len(64).for_each(row);
            } else {
                data.chunks_mut(bs.len()).for_each(row);
            }
            return Ok(out);
        }
    }
    broadcast_binary(&a, &b, f)
}

/// Applies a generic expression to a float tensor taken by value.
macro_rules! float_owned {
    ($t:expr, $a:ident => $body:expr, $what:expr) => {
        match $t {
            Tensor::F32($a) => Tensor::from($body),
            Tensor::F64($a) => Tensor::from($body),
            other => {
                return Err(Error::invalid_argument(format!(
                    "{} expects a float tensor, got {}",
                    $what,
                    other.dtype()
                )))
            }
        }
    };
}
pub(crate) use float_owned;

/// Applies a generic expression to two float tensors of one dtype taken by value.
macro_rules! float_pair_owned {
    ($a:expr, $b:expr, $x:ident, $y:ident => $body:expr, $what:expr) => {
        match ($a, $b) {
            (Tensor::F32($x), Tensor::F32($y)) => Tensor::from($body),
            (Tensor::F64($x), Tensor::F64($y)) => Tensor::from($body),
            (x, y) => {
                return Err(Error::invalid_argument(format!(
                    "{} expects float tensors of one dtype, got {} and {}",
                    $what,
                    x.dtype(),
                    y.dtype()
                )))
            }
        }
    };
}
pub(crate) use float_pair_owned;

/// Applies a generic expression to two numeric tensors of one dtype taken by value.
macro_rules! numeric_pair_owned {
    ($a:expr, $b:expr, $x:ident, $y:ident => $body:expr, $what:expr) => {
        match ($a, $b) {
            (Tensor::F32($x), Tensor::F32($y)) => Tensor::from($body),
            (Tensor::F64($x), Tensor::F64($y)) => Tensor::from($body),
            (Tensor::I32($x), Tensor::I32($y)) => Tensor::from($body),
            (Tensor::I64($x), Tensor::I64($y)) => Tensor::from($body),
            (Tensor::U8($x), Tensor::U8($y)) => Tensor::from($body),
            (x, y) => {
                return Err(Error::invalid_argument(format!(
                    "{} expects numeric tensors of one dtype, got {} and {}",
                    $what,
                    x.dtype(),
                    y.dtype()
                )))
            }
        }
    };
}
pub(crate) use numeric_pair_owned;

/// A kernel applying a generic float function element-wise.
macro_rules! float_unary {
    ($fn_name:ident, $op:expr, $f:ident) => {
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let threads = ctx.threads;
                let out = float_owned!(ctx.take_input(0)?, a => unary_owned(a, threads, $f), $op);
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

fn sqrt_f<T: Float>(x: T) -> T {
    x.sqrt()
}
fn rsqrt_f<T: Float>(x: T) -> T {
    T::one() / x.sqrt()
}
fn exp_f<T: Float>(x: T) -> T {
    x.exp()
}
fn log_f<T: Float>(x: T) -> T {
    x.ln()
}
fn reciprocal_f<T: Float>(x: T) -> T {
    T::one() / x
}
fn tanh_f<T: Float>(x: T) -> T {
    x.tanh()
}
/// `1 / (1 + e^-x)`: `e^-x` overflows to infinity for very negative `x`, giving exactly 0 as it should.
pub(crate) fn sigmoid_f<T: Float>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

float_unary!(sqrt, "Sqrt", sqrt_f);
float_unary!(rsqrt, "Rsqrt", rsqrt_f);
float_unary!(exp, "Exp", exp_f);
float_unary!(log, "Log", log_f);
float_unary!(reciprocal, "Reciprocal", reciprocal_f);
float_unary!(tanh, "Tanh", tanh_f);
float_unary!(sigmoid, "Sigmoid", sigmoid_f);

/// `|x|` and `sign(x)` for signed numbers (`0 - x` is the negation `Arith` offers for every type).
fn abs(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn f<T: Arith>(x: T) -> T {
            if x < T::default() {
                T::default().sub(x)
            } else {
                x
            }
        }
        let threads = ctx.threads;
        let out = match ctx.take_input(0)? {
            Tensor::F32(a) => Tensor::from(unary_owned(a, threads, f)),
            Tensor::F64(a) => Tensor::from(unary_owned(a, threads, f)),
            Tensor::I32(a) => Tensor::from(unary_owned(a, threads, f)),
            Tensor::I64(a) => Tensor::from(unary_owned(a, threads, f)),
            other => return Err(Error::invalid_argument(format!("Abs does not support {}", other.dtype()))),
        };
        ctx.output(out);
        Ok(())
    })))
}

fn sign(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn f<T: Arith>(x: T) -> T {
            let zero = T::default();
            if x.is_nan() {
                x
            } else if x > zero {
                T::one()
            } else if x < zero {
                zero.sub(T::one())
            } else {
                zero
            }
        }
        let threads = ctx.threads;
        let out = match ctx.take_input(0)? {
            Tensor::F32(a) => Tensor::from(unary_owned(a, threads, f)),
            Tensor::F64(a) => Tensor::from(unary_owned(a, threads, f)),
            Tensor::I32(a) => Tensor::from(unary_owned(a, threads, f)),
            Tensor::I64(a) => Tensor::from(unary_owned(a, threads, f)),
            other => return Err(Error::invalid_argument(format!("Sign does not support {}", other.dtype()))),
        };
        ctx.output(out);
        Ok(())
    })))
}

/// A kernel of TF's `*Grad(y, dy)` form: a float function of the op's output and the incoming gradient.
macro_rules! float_grad {
    ($fn_name:ident, $op:expr, $f:ident) => {
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let threads = ctx.threads;
                let (y, dy) = (ctx.take_input(0)?, ctx.take_input(1)?);
                let out = float_pair_owned!(y, dy, a, b => binary_owned(a, b, threads, $f)?, $op);
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

fn sqrt_grad_f<T: Float>(y: T, dy: T) -> T {
    dy * T::from_f64(0.5) / y
}
fn rsqrt_grad_f<T: Float>(y: T, dy: T) -> T {
    dy * T::from_f64(-0.5) * y * y * y
}
fn reciprocal_grad_f<T: Float>(y: T, dy: T) -> T {
    -dy * y * y
}
fn sigmoid_grad_f<T: Float>(y: T, dy: T) -> T {
    dy * y * (T::one() - y)
}
fn tanh_grad_f<T: Float>(y: T, dy: T) -> T {
    dy * (T::one() - y * y)
}

float_grad!(sqrt_grad, "SqrtGrad", sqrt_grad_f);
float_grad!(rsqrt_grad, "RsqrtGrad", rsqrt_grad_f);
float_grad!(reciprocal_grad, "ReciprocalGrad", reciprocal_grad_f);
float_grad!(sigmoid_grad, "SigmoidGrad", sigmoid_grad_f);
float_grad!(tanh_grad, "TanhGrad", tanh_grad_f);

/// The larger of two values; NaN wins, as in TF.
fn max_nan<T: Arith>(x: T, y: T) -> T {
    if x.is_nan() || x > y {
        x
    } else {
        y
    }
}

/// The smaller of two values; NaN wins, as in TF.
fn min_nan<T: Arith>(x: T, y: T) -> T {
    if x.is_nan() || x < y {
        x
    } else {
        y
    }
}

macro_rules! numeric_binary {
    ($fn_name:ident, $op:expr, $f:ident) => {
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let threads = ctx.threads;
                let (a, b) = (ctx.take_input(0)?, ctx.take_input(1)?);
                let out = numeric_pair_owned!(a, b, x, y => binary_owned(x, y, threads, $f)?, $op);
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

fn squared_diff<T: Arith>(x: T, y: T) -> T {
    let d = x.sub(y);
    d.mul(d)
}

numeric_binary!(maximum, "Maximum", max_nan);
numeric_binary!(minimum, "Minimum", min_nan);
numeric_binary!(squared_difference, "SquaredDifference", squared_diff);

/// Integer power by squaring, wrapping on overflow as TF's integer kernels do.
fn int_pow<T: Arith>(base: T, exp: i64) -> T {
    let (mut result, mut b, mut e) = (T::one(), base, exp);
    while e > 0 {
        if e & 1 == 1 {
            result = result.mul(b);
        }
        b = b.mul(b);
        e >>= 1;
    }
    result
}

fn pow(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn no_negative<T: Arith + Into<i64>>(e: &ArcArray<T, IxDyn>) -> Result<()> {
            if e.iter().any(|&v| v < T::default()) {
                return Err(Error::invalid_argument("Integers to negative integer powers are not allowed"));
            }
            Ok(())
        }
        let threads = ctx.threads;
        let (a, b) = (ctx.take_input(0)?, ctx.take_input(1)?);
        let out = match (a, b) {
            (Tensor::F32(x), Tensor::F32(y)) => Tensor::from(binary_owned(x, y, threads, f32::powf)?),
            (Tensor::F64(x), Tensor::F64(y)) => Tensor::from(binary_owned(x, y, threads, f64::powf)?),
            (Tensor::I32(x), Tensor::I32(y)) => {
                no_negative(&y)?;
                Tensor::from(binary_owned(x, y, threads, |p, q| int_pow(p, i64::from(q)))?)
            }
            (Tensor::I64(x), Tensor::I64(y)) => {
                no_negative(&y)?;
                Tensor::from(binary_owned(x, y, threads, int_pow)?)
            }
            (x, y) => {
                return Err(Error::invalid_argument(format!(
                    "Pow expects signed numeric tensors of one dtype, got {} and {}",
                    x.dtype(),
                    y.dtype()
                )))
            }
        };
        ctx.output(out);
        Ok(())
    })))
}

/// A comparison producing bool; `$bools` says whether bool operands are accepted (equality only).
macro_rules! comparison {
    ($fn_name:ident, $op:expr, |$x:ident, $y:ident| $body:expr, $bools:expr) => {
        // The bool arm is compiled for every comparison but reached only by Equal/NotEqual.
        #[allow(clippy::bool_comparison)]
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let out: ArrayD<bool> = match (ctx.input(0)?, ctx.input(1)?) {
                    (Tensor::F32(a), Tensor::F32(b)) => broadcast_binary(a, b, |$x, $y| $body)?,
                    (Tensor::F64(a), Tensor::F64(b)) => broadcast_binary(a, b, |$x, $y| $body)?,
                    (Tensor::I32(a), Tensor::I32(b)) => broadcast_binary(a, b, |$x, $y| $body)?,
                    (Tensor::I64(a), Tensor::I64(b)) => broadcast_binary(a, b, |$x, $y| $body)?,
                    (Tensor::U8(a), Tensor::U8(b)) => broadcast_binary(a, b, |$x, $y| $body)?,
                    (Tensor::Bool(a), Tensor::Bool(b)) if $bools => broadcast_binary(a, b, |$x, $y| $body)?,
                    (a, b) => {
                        return Err(Error::invalid_argument(format!(
                            "{} does not support operands of dtypes {} and {}",
                            $op,
                            a.dtype(),
                            b.dtype()
                        )))
                    }
                };
                ctx.output(Tensor::from(out));
                Ok(())
            })))
        }
    };
}

comparison!(equal, "Equal", |x, y| x == y, true);
comparison!(not_equal, "NotEqual", |x, y| x != y, true);
comparison!(less, "Less", |x, y| x < y, false);
comparison!(greater, "Greater", |x, y| x > y, false);
comparison!(less_equal, "LessEqual", |x, y| x <= y, false);
comparison!(greater_equal, "GreaterEqual", |x, y| x >= y, false);

fn bools(t: Tensor, op: &str) -> Result<ArcArray<bool, IxDyn>> {
    t.into_array::<bool>().map_err(|e| e.context(op))
}

fn logical_and(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let (a, b) = (bools(ctx.take_input(0)?, "LogicalAnd")?, bools(ctx.take_input(1)?, "LogicalAnd")?);
        ctx.output(Tensor::from(binary_owned(a, b, threads, |x, y| x && y)?));
        Ok(())
    })))
}

fn logical_or(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let (a, b) = (bools(ctx.take_input(0)?, "LogicalOr")?, bools(ctx.take_input(1)?, "LogicalOr")?);
        ctx.output(Tensor::from(binary_owned(a, b, threads, |x, y| x || y)?));
        Ok(())
    })))
}

fn logical_not(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let a = bools(ctx.take_input(0)?, "LogicalNot")?;
        ctx.output(Tensor::from(unary_owned(a, threads, |x| !x)));
        Ok(())
    })))
}

/// `cond ? x : y` with TF1 `Select` shapes: `cond` has `x`'s shape, or is a vector picking rows.
fn select_arrays<T: Clone>(
    cond: &ArcArray<bool, IxDyn>,
    x: &ArcArray<T, IxDyn>,
    y: &ArcArray<T, IxDyn>,
) -> Result<ArrayD<T>> {
    if x.shape() != y.shape() {
        return Err(Error::invalid_argument(format!(
            "'then' and 'else' must have the same size.  but received: {} vs. {}",
            Shape::from(x.shape()),
            Shape::from(y.shape())
        )));
    }
    if cond.shape() == x.shape() {
        return Ok(Zip::from(cond)
            .and(x)
            .and(y)
            .map_collect(|&c, a, b| if c { a.clone() } else { b.clone() }));
    }
    if cond.ndim() == 1 && x.ndim() > 1 && cond.len() == x.shape()[0] {
        let mut out = x.to_owned();
        for (i, &c) in cond.iter().enumerate() {
            if !c {
                out.index_axis_mut(Axis(0), i).assign(&y.index_axis(Axis(0), i));
            }
        }
        return Ok(out);
    }
    Err(Error::invalid_argument(format!(
        "condition must be a vector of x's first dimension or have x's shape: condition {}, x {}",
        Shape::from(cond.shape()),
        Shape::from(x.shape())
    )))
}

fn select(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let cond = ctx.input(0)?.array::<bool>().map_err(|e| e.context("Select's condition"))?;
        let out = match (ctx.input(1)?, ctx.input(2)?) {
            (Tensor::F32(a), Tensor::F32(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (Tensor::F64(a), Tensor::F64(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (Tensor::I32(a), Tensor::I32(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (Tensor::I64(a), Tensor::I64(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (Tensor::U8(a), Tensor::U8(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (Tensor::Bool(a), Tensor::Bool(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (Tensor::String(a), Tensor::String(b)) => Tensor::from(select_arrays(cond, a, b)?),
            (a, b) => {
                return Err(Error::invalid_argument(format!(
                    "Select: x and y have dtypes {} and {}",
                    a.dtype(),
                    b.dtype()
                )))
            }
        };
        ctx.output(out);
        Ok(())
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirectSession, SessionExt};
    use ferroflow_core::Code;
    use ferroflow_graph::{GraphBuilder, Output};

    fn run(mut g: GraphBuilder, y: Output) -> Result<Tensor> {
        DirectSession::new(g.finalize()).run(y, &[])?.into_tensor()
    }

    fn close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6 || (g.is_nan() && w.is_nan()), "{got:?} vs {want:?}");
        }
    }

    type Unary = fn(&mut GraphBuilder, Output) -> Result<Output>;

    #[test]
    fn unary_float_values() -> Result<()> {
        let xs = vec![0.25f64, 1.0, 4.0];
        let cases: Vec<(&str, Unary, Vec<f64>)> = vec![
            ("sqrt", GraphBuilder::sqrt, vec![0.5, 1.0, 2.0]),
            ("rsqrt", GraphBuilder::rsqrt, vec![2.0, 1.0, 0.5]),
            ("exp", GraphBuilder::exp, xs.iter().map(|x| x.exp()).collect()),
            ("log", GraphBuilder::log, xs.iter().map(|x| x.ln()).collect()),
            ("reciprocal", GraphBuilder::reciprocal, vec![4.0, 1.0, 0.25]),
            ("tanh", GraphBuilder::tanh, xs.iter().map(|x| x.tanh()).collect()),
            // sigmoid(1) = 0.7310585786300049 (TF prints 0.7310586 in f32).
            (
                "sigmoid",
                GraphBuilder::sigmoid,
                vec![0.5621765008857981, 0.7310585786300049, 0.9820137900379085],
            ),
        ];
        for (name, f, want) in cases {
            for dtype in [ferroflow_core::DType::F64, ferroflow_core::DType::F32] {
                let mut g = GraphBuilder::new();
                let x = g.constant(Tensor::vector(xs.clone()).cast(dtype)?)?;
                let y = f(&mut g, x)?;
                let got = run(g, y)?.cast(ferroflow_core::DType::F64)?.to_vec::<f64>()?;
                let tol = if dtype == ferroflow_core::DType::F32 { 1e-6 } else { 1e-12 };
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= tol * b.abs().max(1.0), "{name} {dtype}: {got:?} vs {want:?}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn signed_and_binary_values() -> Result<()> {
        let mut g = GraphBuilder::new();
        let a = g.constant(Tensor::vector(vec![-2i32, 0, 3]))?;
        let b = g.constant(Tensor::vector(vec![1i32, 0, 5]))?;
        let abs = g.abs(a)?;
        let sign = g.sign(a)?;
        let max = g.maximum(a, b)?;
        let min = g.minimum(a, b)?;
        let pow = g.pow(a, b)?;
        let sqd = g.squared_difference(a, b)?;
        let mut sess = DirectSession::new(g.finalize());
        assert_eq!(sess.run(abs, &[])?.tensor()?.to_vec::<i32>()?, vec![2, 0, 3]);
        assert_eq!(sess.run(sign, &[])?.tensor()?.to_vec::<i32>()?, vec![-1, 0, 1]);
        assert_eq!(sess.run(max, &[])?.tensor()?.to_vec::<i32>()?, vec![1, 0, 5]);
        assert_eq!(sess.run(min, &[])?.tensor()?.to_vec::<i32>()?, vec![-2, 0, 3]);
        assert_eq!(sess.run(pow, &[])?.tensor()?.to_vec::<i32>()?, vec![-2, 1, 243]);
        assert_eq!(sess.run(sqd, &[])?.tensor()?.to_vec::<i32>()?, vec![9, 0, 4]);

        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::from_vec(&[2, 2], vec![1.0f64, f64::NAN, -1.0, 2.0])?)?;
        let y = g.constant(Tensor::scalar(0.5f64))?;
        let max = g.maximum(x, y)?;
        let pow = g.pow(x, y)?;
        let mut sess = DirectSession::new(g.finalize());
        close(&sess.run(max, &[])?.tensor()?.to_vec::<f64>()?, &[1.0, f64::NAN, 0.5, 2.0]);
        close(&sess.run(pow, &[])?.tensor()?.to_vec::<f64>()?, &[1.0, f64::NAN, f64::NAN, 2f64.sqrt()]);

        let mut g = GraphBuilder::new();
        let a = g.constant(Tensor::vector(vec![2i64]))?;
        let b = g.constant(Tensor::vector(vec![-1i64]))?;
        let p = g.pow(a, b)?;
        let err = run(g, p).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("negative integer powers"), "{err}");
        Ok(())
    }

    #[test]
    fn grad_kernels_match_formulas() -> Result<()> {
        let mut g = GraphBuilder::new();
        let y = g.constant(Tensor::vector(vec![0.5f64, 2.0]))?;
        let dy = g.constant(Tensor::vector(vec![3.0f64, -1.0]))?;
        let outs = [
            (g.sqrt_grad(y, dy)?, vec![3.0, -0.25]),
            (g.rsqrt_grad(y, dy)?, vec![-0.1875, 4.0]),
            (g.reciprocal_grad(y, dy)?, vec![-0.75, 4.0]),
            (g.sigmoid_grad(y, dy)?, vec![0.75, 2.0]),
            (g.tanh_grad(y, dy)?, vec![2.25, 3.0]),
        ];
        let mut sess = DirectSession::new(g.finalize());
        for (o, want) in outs {
            close(&sess.run(o, &[])?.tensor()?.to_vec::<f64>()?, &want);
        }
        Ok(())
    }

    #[test]
    fn comparisons_logic_and_select() -> Result<()> {
        let mut g = GraphBuilder::new();
        let a = g.constant(Tensor::from_vec(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0])?)?;
        let b = g.constant(Tensor::vector(vec![2.0f32, 3.0]))?;
        let cmp = [
            (g.equal(a, b)?, [false, false, false, false]),
            (g.not_equal(a, b)?, [true, true, true, true]),
            (g.less(a, b)?, [true, true, false, false]),
            (g.less_equal(a, b)?, [true, true, false, false]),
            (g.greater(a, b)?, [false, false, true, true]),
            (g.greater_equal(a, b)?, [false, false, true, true]),
        ];
        let lt = g.less(a, b)?;
        let ge2 = {
            let two = g.constant(Tensor::scalar(2.0f32))?;
            g.greater_equal(a, two)?
        };
        let and = g.logical_and(lt, ge2)?;
        let or = g.logical_or(lt, ge2)?;
        let not = g.logical_not(lt)?;
        let zeros = g.constant(Tensor::from_vec(&[2, 2], vec![0.0f32; 4])?)?;
        let sel = g.select(lt, a, zeros)?;
        let rows = g.constant(Tensor::vector(vec![false, true]))?;
        let sel_rows = g.select(rows, a, zeros)?;
        let mut sess = DirectSession::new(g.finalize());
        for (o, want) in cmp {
            assert_eq!(sess.run(o, &[])?.tensor()?.to_vec::<bool>()?, want.to_vec());
        }
        assert_eq!(sess.run(and, &[])?.tensor()?.to_vec::<bool>()?, vec![false, true, false, false]);
        assert_eq!(sess.run(or, &[])?.tensor()?.to_vec::<bool>()?, vec![true, true, true, true]);
        assert_eq!(sess.run(not, &[])?.tensor()?.to_vec::<bool>()?, vec![false, false, true, true]);
        assert_eq!(sess.run(sel, &[])?.tensor()?.to_vec::<f32>()?, vec![1.0, 2.0, 0.0, 0.0]);
        assert_eq!(sess.run(sel_rows, &[])?.tensor()?.to_vec::<f32>()?, vec![0.0, 0.0, 3.0, 4.0]);
        Ok(())
    }

    #[test]
    fn in_place_reuses_unique_buffers_and_leaves_shared_ones() -> Result<()> {
        let a = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0f32, 4.0, 9.0])?.into_shared();
        let keep = a.clone();
        let out = unary_owned(a, 1, f32::sqrt);
        assert_eq!(out.as_slice(), Some(&[1.0f32, 2.0, 3.0][..]));
        assert_eq!(keep.as_slice(), Some(&[1.0f32, 4.0, 9.0][..]), "a shared input must not change");
        let unique = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0f32, 4.0, 9.0])?.into_shared();
        let ptr = unique.as_ptr();
        let out = unary_owned(unique, 1, f32::sqrt);
        assert_eq!(out.as_ptr(), ptr, "a unique input is overwritten in place");
        let b = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0f32, 1.0, 1.0])?.into_shared();
        let out = binary_owned(keep.clone(), b, 2, |x, y| x - y)?;
        assert_eq!(out.as_slice(), Some(&[0.0f32, 3.0, 8.0][..]), "order of operands kept in b's buffer");
        Ok(())
    }

    #[test]
    fn build_time_errors_name_the_tensor() -> Result<()> {
        let mut g = GraphBuilder::new();
        let i = g.constant(Tensor::vector(vec![1i32, 2]))?;
        let f = g.constant(Tensor::vector(vec![1.0f32, 2.0]))?;
        let err = g.sqrt(i).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("Sqrt") && err.message().contains("Const:0"), "{err}");
        assert!(g.maximum(i, f).is_err());
        assert!(g.logical_and(f, f).is_err());
        let c = g.constant(Tensor::vector(vec![true, false, true]))?;
        let err = g.select(c, f, f).unwrap_err();
        assert!(err.message().contains("Select"), "{err}");
        let m = g.constant(Tensor::from_vec(&[2, 3], vec![0.0f32; 6])?)?;
        assert!(g.less(m, f).is_err(), "[2,3] and [2] do not broadcast");
        Ok(())
    }
}
