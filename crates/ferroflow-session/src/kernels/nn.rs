//! Kernels of activations, softmax and losses (TF's `relu_op.cc`, `softmax_op.cc`, `xent_op.cc`,
//! `sparse_xent_op.cc`, `bias_op.cc`, `check_numerics_op.cc`, `topk_op.cc`, `in_topk_op.cc`).
//!
//! The training hot path (BiasAdd, Relu, ReluGrad, the fused cross-entropies, BiasAddGrad) writes into
//! its input's buffer when no one else holds it, and splits rows across threads only above
//! [`PARALLEL_THRESHOLD`](super::math::PARALLEL_THRESHOLD) elements.

use super::cwise::{binary_owned, float_owned, float_pair_owned, parallel, sigmoid_f, unary_owned, Float};
use super::int_values;
use super::math::Arith;
use crate::kernel::{FnKernel, KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{Error, Result, Shape, Tensor};
use ndarray::{ArcArray, ArrayD, IxDyn};
use rayon::prelude::*;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("Relu", relu),
    ("Relu6", relu6),
    ("LeakyRelu", leaky_relu),
    ("Elu", elu),
    ("Selu", selu),
    ("Softplus", softplus),
    ("ReluGrad", relu_grad),
    ("Relu6Grad", relu6_grad),
    ("LeakyReluGrad", leaky_relu_grad),
    ("EluGrad", elu_grad),
    ("SeluGrad", selu_grad),
    ("SoftplusGrad", softplus_grad),
    ("Softmax", softmax),
    ("LogSoftmax", log_softmax),
    ("SparseSoftmaxCrossEntropyWithLogits", sparse_softmax_xent),
    ("SoftmaxCrossEntropyWithLogits", softmax_xent),
    ("BiasAdd", bias_add),
    ("BiasAddGrad", bias_add_grad),
    ("CheckNumerics", check_numerics),
    ("TopKV2", top_k),
    ("InTopK", in_top_k),
];

const SELU_SCALE: f64 = ferroflow_graph::ops::nn_ops::SELU_SCALE;
const SELU_ALPHA: f64 = ferroflow_graph::ops::nn_ops::SELU_ALPHA;

/// An owned array in row-major layout, reusing the buffer when it is unique and already row-major.
fn standard_owned<T: Clone>(a: ArcArray<T, IxDyn>) -> ArrayD<T> {
    if a.is_standard_layout() {
        a.into_owned()
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// Runs `f` on each row (`cols` elements) of a row-major buffer, on rayon's pool when it pays.
fn for_rows<T: Send>(data: &mut [T], cols: usize, threads: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if cols == 0 {
        return;
    }
    if parallel(data.len(), threads) {
        data.par_chunks_mut(cols).enumerate().for_each(|(i, row)| f(i, row));
    } else {
        data.chunks_mut(cols).enumerate().for_each(|(i, row)| f(i, row));
    }
}

// ===== activations =====

fn relu(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn f<T: Arith>(x: T) -> T {
            // `x > 0 ? x : 0` keeps NaN as NaN, as TF's `max(x, 0)` does.
            if x < T::default() {
                T::default()
            } else {
                x
            }
        }
        let threads = ctx.threads;
        let out = crate::numeric_op!(ctx.take_input(0)?, a => unary_owned(a, threads, f), "Relu")?;
        ctx.output(out);
        Ok(())
    })))
}

fn relu6(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn f<T: Arith>(x: T) -> T {
            let six = T::from_usize(6);
            if x < T::default() {
                T::default()
            } else if x > six {
                six
            } else {
                x
            }
        }
        let threads = ctx.threads;
        let out = crate::numeric_op!(ctx.take_input(0)?, a => unary_owned(a, threads, f), "Relu6")?;
        ctx.output(out);
        Ok(())
    })))
}

fn leaky_relu(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let alpha = init.node.attrs.float("alpha")?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        fn f<T: Float>(x: T, alpha: T) -> T {
            if x > T::default() {
                x
            } else {
                alpha * x
            }
        }
        let threads = ctx.threads;
        let out = float_owned!(ctx.take_input(0)?, a => unary_owned(a, threads, |x| f(x, Float::from_f64(alpha))), "LeakyRelu");
        ctx.output(out);
        Ok(())
    })))
}

fn elu_f<T: Float>(x: T) -> T {
    if x > T::default() {
        x
    } else {
        x.exp_m1()
    }
}

fn selu_f<T: Float>(x: T) -> T {
    let scale = T::from_f64(SELU_SCALE);
    if x > T::default() {
        scale * x
    } else {
        scale * T::from_f64(SELU_ALPHA) * x.exp_m1()
    }
}

/// `log(1 + e^x)` without overflow: for positive `x` it is `x + log(1 + e^-x)`.
fn softplus_f<T: Float>(x: T) -> T {
    if x > T::default() {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

macro_rules! float_activation {
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

float_activation!(elu, "Elu", elu_f);
float_activation!(selu, "Selu", selu_f);
float_activation!(softplus, "Softplus", softplus_f);

// ===== activation gradients: (gradients, features or outputs) -> backprops =====

fn relu_grad(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn f<T: Arith>(dy: T, y: T) -> T {
            if y > T::default() {
                dy
            } else {
                T::default()
            }
        }
        let threads = ctx.threads;
        let (dy, y) = (ctx.take_input(0)?, ctx.take_input(1)?);
        let out = crate::kernels::cwise::numeric_pair_owned!(dy, y, a, b => binary_owned(a, b, threads, f)?, "ReluGrad");
        ctx.output(out);
        Ok(())
    })))
}

fn relu6_grad(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        fn f<T: Arith>(dy: T, y: T) -> T {
            if y > T::default() && y < T::from_usize(6) {
                dy
            } else {
                T::default()
            }
        }
        let threads = ctx.threads;
        let (dy, y) = (ctx.take_input(0)?, ctx.take_input(1)?);
        let out = crate::kernels::cwise::numeric_pair_owned!(dy, y, a, b => binary_owned(a, b, threads, f)?, "Relu6Grad");
        ctx.output(out);
        Ok(())
    })))
}

fn leaky_relu_grad(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let alpha = init.node.attrs.float("alpha")?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        fn f<T: Float>(dy: T, x: T, alpha: T) -> T {
            if x > T::default() {
                dy
            } else {
                alpha * dy
            }
        }
        let threads = ctx.threads;
        let (dy, x) = (ctx.take_input(0)?, ctx.take_input(1)?);
        let out = float_pair_owned!(dy, x, a, b => binary_owned(a, b, threads, |d, v| f(d, v, Float::from_f64(alpha)))?, "LeakyReluGrad");
        ctx.output(out);
        Ok(())
    })))
}

/// ELU's gradient from its output: `dy` where positive, else `dy * (y + 1)` (as `y = e^x - 1`).
fn elu_grad_f<T: Float>(dy: T, y: T) -> T {
    if y > T::default() {
        dy
    } else {
        dy * (y + T::one())
    }
}

/// SELU's gradient from its output: `dy * scale` where positive, else `dy * (y + scale * alpha)`.
fn selu_grad_f<T: Float>(dy: T, y: T) -> T {
    let scale = T::from_f64(SELU_SCALE);
    if y > T::default() {
        dy * scale
    } else {
        dy * (y + scale * T::from_f64(SELU_ALPHA))
    }
}

/// Softplus' gradient from its input: `dy * sigmoid(x)`.
fn softplus_grad_f<T: Float>(dy: T, x: T) -> T {
    dy * sigmoid_f(x)
}

macro_rules! float_activation_grad {
    ($fn_name:ident, $op:expr, $f:ident) => {
        fn $fn_name(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
            Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
                let threads = ctx.threads;
                let (dy, x) = (ctx.take_input(0)?, ctx.take_input(1)?);
                let out = float_pair_owned!(dy, x, a, b => binary_owned(a, b, threads, $f)?, $op);
                ctx.output(out);
                Ok(())
            })))
        }
    };
}

float_activation_grad!(elu_grad, "EluGrad", elu_grad_f);
float_activation_grad!(selu_grad, "SeluGrad", selu_grad_f);
float_activation_grad!(softplus_grad, "SoftplusGrad", softplus_grad_f);

// ===== softmax and cross-entropy =====

/// A row's shift and log-normalizer: `(m, log(sum(exp(row - m))))` with `m` the row's maximum, so that
/// `log_softmax = (row - m) - log_sum` stays exact in f32 even for large logits (folding `m` into one
/// log-sum-exp would round it away).
fn shifted_log_sum<T: Float>(row: &[T]) -> (T, T) {
    let max = row.iter().copied().fold(T::lowest(), |m, v| if v > m { v } else { m });
    if !max.is_finite() {
        // All -inf, or an inf/NaN present: the unshifted formula gives TF's inf/NaN results.
        return (T::default(), row.iter().fold(T::default(), |s, &v| s + v.exp()).ln());
    }
    (max, row.iter().fold(T::default(), |s, &v| s + (v - max).exp()).ln())
}

fn softmax_rows<T: Float>(a: ArcArray<T, IxDyn>, threads: usize, log: bool) -> Result<ArrayD<T>> {
    let mut out = standard_owned(a);
    let cols = out.shape().last().copied().unwrap_or(1);
    let data = out.as_slice_mut().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    for_rows(data, cols, threads, |_, row| {
        let (max, log_sum) = shifted_log_sum(row);
        for v in row.iter_mut() {
            let log_p = (*v - max) - log_sum;
            *v = if log { log_p } else { log_p.exp() };
        }
    });
    Ok(out)
}

fn softmax(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let out = float_owned!(ctx.take_input(0)?, a => softmax_rows(a, threads, false)?, "Softmax");
        ctx.output(out);
        Ok(())
    })))
}

fn log_softmax(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let out = float_owned!(ctx.take_input(0)?, a => softmax_rows(a, threads, true)?, "LogSoftmax");
        ctx.output(out);
        Ok(())
    })))
}

fn matrix_dims(shape: &[usize], what: &str) -> Result<(usize, usize)> {
    match shape {
        [n, c] => Ok((*n, *c)),
        _ => Err(Error::invalid_argument(format!(
            "{what} must be 2-dimensional, got shape {}",
            Shape::from(shape)
        ))),
    }
}

/// Loss and backprop of softmax cross-entropy with integer labels; the backprop overwrites the logits'
/// buffer when it is unique.
fn sparse_xent<T: Float>(
    logits: ArcArray<T, IxDyn>,
    labels: &[i64],
    threads: usize,
) -> Result<(Tensor, Tensor)> {
    let (n, c) = matrix_dims(logits.shape(), "logits")?;
    if labels.len() != n {
        return Err(Error::invalid_argument(format!(
            "logits and labels must have the same first dimension, got logits shape {} and labels shape [{}]",
            Shape::from(logits.shape()),
            labels.len()
        )));
    }
    if let Some(bad) = labels.iter().find(|&&l| l < 0 || l as u64 >= c as u64) {
        let shown: Vec<String> = labels.iter().take(10).map(ToString::to_string).collect();
        return Err(Error::invalid_argument(format!(
            "Received a label value of {bad} which is outside the valid range of [0, {c}).  Label values: {}",
            shown.join(" ")
        )));
    }
    let mut backprop = standard_owned(logits);
    let mut loss = vec![T::default(); n];
    let data = backprop.as_slice_mut().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let body = |(row, (loss, &label)): (&mut [T], (&mut T, &i64))| {
        let (max, log_sum) = shifted_log_sum(row);
        let label = label as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let log_p = (*v - max) - log_sum;
            if j == label {
                *loss = -log_p;
                *v = log_p.exp() - T::one();
            } else {
                *v = log_p.exp();
            }
        }
    };
    if c > 0 {
        if parallel(data.len(), threads) {
            data.par_chunks_mut(c).zip(loss.par_iter_mut().zip(labels.par_iter())).for_each(body);
        } else {
            data.chunks_mut(c).zip(loss.iter_mut().zip(labels.iter())).for_each(body);
        }
    }
    Ok((Tensor::from_vec(&[n], loss)?, Tensor::from(backprop)))
}

fn sparse_softmax_xent(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let labels = int_values(ctx.input(1)?, "labels")?;
        let (loss, backprop) = match ctx.take_input(0)? {
            Tensor::F32(a) => sparse_xent(a, &labels, threads)?,
            Tensor::F64(a) => sparse_xent(a, &labels, threads)?,
            other => {
                return Err(Error::invalid_argument(format!("logits must be float, got {}", other.dtype())))
            }
        };
        ctx.output(loss);
        ctx.output(backprop);
        Ok(())
    })))
}

/// Loss `sum(labels * (lse - logits))` and backprop `softmax - labels` of dense-label cross-entropy.
fn dense_xent<T: Float>(
    logits: ArcArray<T, IxDyn>,
    labels: &ArcArray<T, IxDyn>,
    threads: usize,
) -> Result<(Tensor, Tensor)> {
    let (n, c) = matrix_dims(logits.shape(), "logits")?;
    if labels.shape() != logits.shape() {
        return Err(Error::invalid_argument(format!(
            "logits and labels must be same size: logits_size={} labels_size={}",
            Shape::from(logits.shape()),
            Shape::from(labels.shape())
        )));
    }
    let labels = labels.as_standard_layout();
    let labels = labels.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let mut backprop = standard_owned(logits);
    let mut loss = vec![T::default(); n];
    let data = backprop.as_slice_mut().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let body = |(row, (loss, lab)): (&mut [T], (&mut T, &[T]))| {
        let (max, log_sum) = shifted_log_sum(row);
        let mut l = T::default();
        for (v, &y) in row.iter_mut().zip(lab) {
            let log_p = (*v - max) - log_sum;
            l = l - y * log_p;
            *v = log_p.exp() - y;
        }
        *loss = l;
    };
    if c > 0 {
        if parallel(data.len(), threads) {
            data.par_chunks_mut(c).zip(loss.par_iter_mut().zip(labels.par_chunks(c))).for_each(body);
        } else {
            data.chunks_mut(c).zip(loss.iter_mut().zip(labels.chunks(c))).for_each(body);
        }
    }
    Ok((Tensor::from_vec(&[n], loss)?, Tensor::from(backprop)))
}

fn softmax_xent(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let logits = ctx.take_input(0)?;
        let (loss, backprop) = match (logits, ctx.input(1)?) {
            (Tensor::F32(a), Tensor::F32(b)) => dense_xent(a, b, threads)?,
            (Tensor::F64(a), Tensor::F64(b)) => dense_xent(a, b, threads)?,
            (a, b) => {
                return Err(Error::invalid_argument(format!(
                    "logits and labels must be float tensors of one dtype, got {} and {}",
                    a.dtype(),
                    b.dtype()
                )))
            }
        };
        ctx.output(loss);
        ctx.output(backprop);
        Ok(())
    })))
}

// ===== bias =====

fn bias_add_arrays<T: Arith>(
    value: ArcArray<T, IxDyn>,
    bias: &ArcArray<T, IxDyn>,
    threads: usize,
) -> Result<ArrayD<T>> {
    let c = value.shape().last().copied().unwrap_or(0);
    if value.ndim() < 2 || bias.ndim() != 1 || bias.len() != c {
        return Err(Error::invalid_argument(format!(
            "Biases must be 1D with size equal to the last dimension of a value of rank >= 2: value shape {}, bias shape {}",
            Shape::from(value.shape()),
            Shape::from(bias.shape())
        )));
    }
    let bias = bias.as_standard_layout();
    let bias = bias.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let mut out = standard_owned(value);
    let data = out.as_slice_mut().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    for_rows(data, c, threads, |_, row| {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = v.add(b);
        }
    });
    Ok(out)
}

fn bias_add(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let threads = ctx.threads;
        let value = ctx.take_input(0)?;
        let out = match (value, ctx.input(1)?) {
            (Tensor::F32(a), Tensor::F32(b)) => Tensor::from(bias_add_arrays(a, b, threads)?),
            (Tensor::F64(a), Tensor::F64(b)) => Tensor::from(bias_add_arrays(a, b, threads)?),
            (Tensor::I32(a), Tensor::I32(b)) => Tensor::from(bias_add_arrays(a, b, threads)?),
            (Tensor::I64(a), Tensor::I64(b)) => Tensor::from(bias_add_arrays(a, b, threads)?),
            (Tensor::U8(a), Tensor::U8(b)) => Tensor::from(bias_add_arrays(a, b, threads)?),
            (a, b) => {
                return Err(Error::invalid_argument(format!(
                    "BiasAdd: value and bias must be numeric of one dtype, got {} and {}",
                    a.dtype(),
                    b.dtype()
                )))
            }
        };
        ctx.output(out);
        Ok(())
    })))
}

/// The column sums of `dy` viewed as `[rows, C]`: the bias gradient.
fn bias_grad<T: Arith>(dy: &ArcArray<T, IxDyn>) -> Result<ArrayD<T>> {
    let c = dy.shape().last().copied().unwrap_or(0);
    if dy.ndim() < 2 {
        return Err(Error::invalid_argument(format!(
            "BiasAddGrad: input must be at least 2D, got shape {}",
            Shape::from(dy.shape())
        )));
    }
    let dy = dy.as_standard_layout();
    let data = dy.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let mut acc = vec![T::default(); c];
    if c > 0 {
        // Row by row, so the inner loop runs over contiguous memory and vectorizes.
        for row in data.chunks_exact(c) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = a.add(v);
            }
        }
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&[c]), acc)?)
}

fn bias_add_grad(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let out = crate::numeric_op!(ctx.input(0)?, a => bias_grad(a)?, "BiasAddGrad")?;
        ctx.output(out);
        Ok(())
    })))
}

// ===== checks and top-k =====

fn check_numerics(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let message = init.node.attrs.str("message").unwrap_or_default().to_string();
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        fn scan<T: Float>(a: &ArcArray<T, IxDyn>) -> (bool, bool) {
            a.iter().fold((false, false), |(nan, inf), &v| (nan || v.is_nan(), inf || v.is_infinite()))
        }
        let (nan, inf) = match ctx.input(0)? {
            Tensor::F32(a) => scan(a),
            Tensor::F64(a) => scan(a),
            other => {
                return Err(Error::invalid_argument(format!(
                    "CheckNumerics expects floats, got {}",
                    other.dtype()
                )))
            }
        };
        let what = match (nan, inf) {
            (true, true) => Some("Inf and NaN"),
            (true, false) => Some("NaN"),
            (false, true) => Some("Inf"),
            (false, false) => None,
        };
        if let Some(what) = what {
            return Err(Error::invalid_argument(format!("{message} : Tensor had {what} values")));
        }
        let t = ctx.take_input(0)?;
        ctx.output(t);
        Ok(())
    })))
}

/// The `k` largest of each row, largest first, ties broken toward the lower index (TF's stable order).
fn top_k_rows<T: Arith>(a: &ArcArray<T, IxDyn>, k: usize) -> Result<(ArrayD<T>, ArrayD<i32>)> {
    let n = a.shape().last().copied().ok_or_else(|| Error::invalid_argument("input must be at least 1D"))?;
    if n < k {
        return Err(Error::invalid_argument(format!(
            "input must have at least k columns. Had {n}, needed {k}"
        )));
    }
    let mut dims = a.shape().to_vec();
    if let Some(l) = dims.last_mut() {
        *l = k;
    }
    let a = a.as_standard_layout();
    let data = a.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
    let rows =
        data.len().checked_div(n).unwrap_or_else(|| dims.iter().take(dims.len().saturating_sub(1)).product());
    let mut values = Vec::with_capacity(rows * k);
    let mut indices = Vec::with_capacity(rows * k);
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for r in 0..rows {
        let row = data.get(r * n..(r + 1) * n).ok_or_else(|| Error::internal("top_k row out of range"))?;
        order.clear();
        order.extend(0..n);
        let cmp = |&i: &usize, &j: &usize| {
            // Larger first; NaN counts as largest (TF sorts it first); then lower index.
            let (x, y) = (row[i], row[j]);
            let key = |v: T| (v.is_nan(), v);
            match (key(x), key(y)) {
                ((true, _), (false, _)) => std::cmp::Ordering::Less,
                ((false, _), (true, _)) => std::cmp::Ordering::Greater,
                _ => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal).then(i.cmp(&j)),
            }
        };
        if k > 0 && k < n {
            order.select_nth_unstable_by(k - 1, cmp);
        }
        let top = order.get_mut(..k).ok_or_else(|| Error::internal("top_k order shorter than k"))?;
        top.sort_unstable_by(cmp);
        for &i in top.iter() {
            values.push(row[i]);
            indices.push(i as i32);
        }
    }
    Ok((ArrayD::from_shape_vec(IxDyn(&dims), values)?, ArrayD::from_shape_vec(IxDyn(&dims), indices)?))
}

fn top_k(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(FnKernel(|ctx: &mut OpKernelContext<'_>| {
        let k = int_values(ctx.input(1)?, "k")?;
        let k = match k.as_slice() {
            [k] if *k >= 0 => *k as usize,
            [k] => return Err(Error::invalid_argument(format!("Need k >= 0, got {k}"))),
            _ => return Err(Error::invalid_argument("k must be a scalar")),
        };
        macro_rules! go {
            ($a:expr) => {{
                let (v, i) = top_k_rows($a, k)?;
                (Tensor::from(v), Tensor::from(i))
            }};
        }
        let (values, indices) = match ctx.input(0)? {
            Tensor::F32(a) => go!(a),
            Tensor::F64(a) => go!(a),
            Tensor::I32(a) => go!(a),
            Tensor::I64(a) => go!(a),
            Tensor::U8(a) => go!(a),
            other => {
                return Err(Error::invalid_argument(format!("TopKV2 does not support {}", other.dtype())))
            }
        };
        ctx.output(values);
        ctx.output(indices);
        Ok(())
    })))
}

fn in_top_k(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let k = init.node.attrs.int("k")?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let predictions = ctx.input(0)?.array::<f32>().map_err(|e| e.context("InTopK predictions"))?;
        let targets = int_values(ctx.input(1)?, "targets")?;
        let (n, c) = matrix_dims(predictions.shape(), "predictions")?;
        if targets.len() != n {
            return Err(Error::invalid_argument(format!(
                "First dimension of predictions {n} must match length of targets {}",
                targets.len()
            )));
        }
        let p = predictions.as_standard_layout();
        let data = p.as_slice().ok_or_else(|| Error::internal("row-major array without a slice"))?;
        let out: Vec<bool> = targets
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let row = data.get(i * c..(i + 1) * c).unwrap_or(&[]);
                match usize::try_from(t).ok().and_then(|t| row.get(t)) {
                    Some(&target) if target.is_finite() => {
                        (row.iter().filter(|&&v| v > target).count() as i64) < k
                    }
                    _ => false,
                }
            })
            .collect();
        ctx.output(Tensor::from_vec(&[n], out)?);
        Ok(())
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirectSession, SessionExt};
    use ferroflow_core::{Code, DType, PartialShape};
    use ferroflow_graph::{GraphBuilder, Output};

    fn fetch(g: &mut GraphBuilder, outs: &[Output]) -> Result<Vec<Tensor>> {
        let mut sess = DirectSession::new(g.finalize());
        outs.iter().map(|&o| sess.run(o, &[])?.into_tensor()).collect()
    }

    fn assert_close(got: &Tensor, want: &[f64], tol: f64) -> Result<()> {
        let got = got.cast(DType::F64)?.to_vec::<f64>()?;
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "{got:?} vs {want:?}");
        }
        Ok(())
    }

    #[test]
    fn activations_match_tf_values() -> Result<()> {
        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::vector(vec![-2.0f32, -0.5, 0.0, 3.0, 7.0]))?;
        let outs = [g.relu(x)?, g.relu6(x)?, g.leaky_relu(x, 0.2)?, g.elu(x)?, g.selu(x)?, g.softplus(x)?];
        let got = fetch(&mut g, &outs)?;
        let e = |v: f64| v.exp() - 1.0;
        assert_close(&got[0], &[0.0, 0.0, 0.0, 3.0, 7.0], 0.0)?;
        assert_close(&got[1], &[0.0, 0.0, 0.0, 3.0, 6.0], 0.0)?;
        assert_close(&got[2], &[-0.4, -0.1, 0.0, 3.0, 7.0], 1e-6)?;
        assert_close(&got[3], &[e(-2.0), e(-0.5), 0.0, 3.0, 7.0], 1e-6)?;
        // tf.nn.selu([-2., 3.]) = [-1.5201665, 3.1521030]
        let s = SELU_SCALE;
        assert_close(&got[4], &[-1.5201665, s * SELU_ALPHA * e(-0.5), 0.0, 3.152103, 7.0 * s], 1e-5)?;
        // tf.nn.softplus(0.) = log(2) = 0.6931472
        let sp = |v: f64| (1.0 + v.exp()).ln();
        assert_close(&got[5], &[sp(-2.0), sp(-0.5), std::f64::consts::LN_2, sp(3.0), sp(7.0)], 1e-6)?;
        Ok(())
    }

    #[test]
    fn activation_gradients_match_tf_formulas() -> Result<()> {
        let mut g = GraphBuilder::new();
        let dy = g.constant(Tensor::vector(vec![1.0f64, 2.0, 3.0, 4.0]))?;
        let f = g.constant(Tensor::vector(vec![-1.0f64, 0.0, 2.0, 6.0]))?;
        let outs = [
            g.activation_grad("ReluGrad", dy, f, None)?,
            g.activation_grad("Relu6Grad", dy, f, None)?,
            g.activation_grad("LeakyReluGrad", dy, f, Some(0.1))?,
            g.activation_grad("EluGrad", dy, f, None)?,
            g.activation_grad("SeluGrad", dy, f, None)?,
            g.activation_grad("SoftplusGrad", dy, f, None)?,
        ];
        let got = fetch(&mut g, &outs)?;
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let s = SELU_SCALE;
        assert_close(&got[0], &[0.0, 0.0, 3.0, 4.0], 0.0)?;
        assert_close(&got[1], &[0.0, 0.0, 3.0, 0.0], 0.0)?;
        assert_close(&got[2], &[0.1, 0.2, 3.0, 4.0], 1e-12)?;
        assert_close(&got[3], &[0.0, 2.0, 3.0, 4.0], 1e-12)?;
        assert_close(
            &got[4],
            &[1.0 * (-1.0 + s * SELU_ALPHA), 2.0 * s * SELU_ALPHA, 3.0 * s, 4.0 * s],
            1e-12,
        )?;
        assert_close(&got[5], &[sig(-1.0), 2.0 * 0.5, 3.0 * sig(2.0), 4.0 * sig(6.0)], 1e-12)?;
        Ok(())
    }

    #[test]
    fn softmax_and_log_softmax() -> Result<()> {
        let mut g = GraphBuilder::new();
        // Large logits check the max shift: exp(1000) would overflow.
        let x = g.constant(Tensor::from_vec(&[2, 3], vec![1.0f32, 2.0, 3.0, 1000.0, 1000.0, 1000.0])?)?;
        let outs = [g.softmax(x)?, g.log_softmax(x)?];
        let got = fetch(&mut g, &outs)?;
        // tf.nn.softmax([1., 2., 3.]) = [0.09003057, 0.24472847, 0.66524096]
        let third = 1.0 / 3.0;
        assert_close(&got[0], &[0.09003057, 0.24472847, 0.66524096, third, third, third], 1e-6)?;
        let l3 = -(3.0f64).ln();
        assert_close(&got[1], &[-2.4076059, -1.4076059, -0.40760595, l3, l3, l3], 1e-5)?;
        Ok(())
    }

    #[test]
    fn sparse_xent_loss_backprop_and_bad_label() -> Result<()> {
        let mut g = GraphBuilder::new();
        let logits = g.constant(Tensor::from_vec(&[2, 3], vec![1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0])?)?;
        let labels = g.constant(Tensor::vector(vec![2i32, 0]))?;
        let loss = g.sparse_softmax_cross_entropy_with_logits(labels, logits)?;
        let got = fetch(&mut g, &[loss, loss.op().output(1)])?;
        // -log(0.66524096) = 0.40760595; -log(1/3) = 1.0986123
        assert_close(&got[0], &[0.40760595, 1.0986123], 1e-6)?;
        let t = 1.0 / 3.0;
        assert_close(&got[1], &[0.09003057, 0.24472847, 0.66524096 - 1.0, t - 1.0, t, t], 1e-6)?;

        let mut g = GraphBuilder::new();
        let logits = g.constant(Tensor::from_vec(&[2, 3], vec![0.0f64; 6])?)?;
        let labels = g.constant(Tensor::vector(vec![1i64, 3]))?;
        let loss = g.sparse_softmax_cross_entropy_with_logits(labels, logits)?;
        let err = fetch(&mut g, &[loss]).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("label value of 3") && err.message().contains("[0, 3)"), "{err}");

        let mut g = GraphBuilder::new();
        let logits = g.placeholder(DType::F32, PartialShape::new(vec![Some(4), Some(3)]), "logits")?;
        let labels = g.placeholder(DType::I32, PartialShape::known(&[5]), "labels")?;
        let err = g.sparse_softmax_cross_entropy_with_logits(labels, logits).unwrap_err();
        assert!(err.message().contains("labels:0") && err.message().contains("batch"), "{err}");
        let flabels = g.placeholder(DType::F32, PartialShape::known(&[4]), "flabels")?;
        assert!(g.sparse_softmax_cross_entropy_with_logits(flabels, logits).is_err());
        Ok(())
    }

    #[test]
    fn dense_xent_loss_and_backprop() -> Result<()> {
        let mut g = GraphBuilder::new();
        let logits = g.constant(Tensor::from_vec(&[1, 3], vec![1.0f64, 2.0, 3.0])?)?;
        let labels = g.constant(Tensor::from_vec(&[1, 3], vec![0.25f64, 0.25, 0.5])?)?;
        let loss = g.softmax_cross_entropy_with_logits(labels, logits)?;
        let got = fetch(&mut g, &[loss, loss.op().output(1)])?;
        let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        let want = 0.25 * (lse - 1.0) + 0.25 * (lse - 2.0) + 0.5 * (lse - 3.0);
        assert_close(&got[0], &[want], 1e-12)?;
        let p: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| (v - lse).exp()).collect();
        assert_close(&got[1], &[p[0] - 0.25, p[1] - 0.25, p[2] - 0.5], 1e-12)?;
        Ok(())
    }

    #[test]
    fn bias_add_and_grad() -> Result<()> {
        let mut g = GraphBuilder::new();
        let v = g.constant(Tensor::from_vec(&[2, 2, 3], (0..12).map(f64::from).collect())?)?;
        let b = g.constant(Tensor::vector(vec![10.0f64, 20.0, 30.0]))?;
        let y = g.bias_add(v, b)?;
        let db = g.bias_add_grad(v)?;
        let got = fetch(&mut g, &[y, db])?;
        let want: Vec<f64> = (0..12).map(|i| f64::from(i) + 10.0 * f64::from(i % 3 + 1)).collect();
        assert_close(&got[0], &want, 0.0)?;
        assert_close(&got[1], &[18.0, 22.0, 26.0], 0.0)?;

        let mut g = GraphBuilder::new();
        let v = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(4)]), "v")?;
        let b = g.placeholder(DType::F32, PartialShape::known(&[3]), "b")?;
        let err = g.bias_add(v, b).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("b:0") && err.message().contains("v:0"), "{err}");
        let vec1 = g.placeholder(DType::F32, PartialShape::known(&[3]), "vec1")?;
        assert!(g.bias_add(vec1, b).is_err(), "value must be at least 2D");
        Ok(())
    }

    #[test]
    fn check_numerics_reports_nan_and_inf() -> Result<()> {
        for (values, what) in [
            (vec![1.0f32, f32::NAN], "Tensor had NaN values"),
            (vec![f32::INFINITY, 1.0], "Tensor had Inf values"),
            (vec![f32::INFINITY, f32::NAN], "Tensor had Inf and NaN values"),
        ] {
            let mut g = GraphBuilder::new();
            let x = g.constant(Tensor::vector(values))?;
            let y = g.check_numerics(x, "my activations")?;
            let err = fetch(&mut g, &[y]).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument);
            assert!(err.message().contains("my activations") && err.message().contains(what), "{err}");
        }
        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::vector(vec![1.0f32, 2.0]))?;
        let y = g.check_numerics(x, "fine")?;
        assert_close(&fetch(&mut g, &[y])?[0], &[1.0, 2.0], 0.0)?;
        Ok(())
    }

    #[test]
    fn top_k_and_in_top_k() -> Result<()> {
        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::from_vec(&[2, 4], vec![1.0f32, 3.0, 3.0, 2.0, 0.5, -1.0, 4.0, 0.0])?)?;
        let (values, indices) = g.top_k(x, 2)?;
        let targets = g.constant(Tensor::vector(vec![2i32, 0]))?;
        let in1 = g.in_top_k(x, targets, 1)?;
        let in2 = g.in_top_k(x, targets, 2)?;
        let out_of_range = g.constant(Tensor::vector(vec![7i64, 2]))?;
        let in_bad = g.in_top_k(x, out_of_range, 4)?;
        let got = fetch(&mut g, &[values, indices, in1, in2, in_bad])?;
        assert_close(&got[0], &[3.0, 3.0, 4.0, 0.5], 0.0)?;
        assert_eq!(got[1].to_vec::<i32>()?, vec![1, 2, 2, 0], "ties keep the lower index first");
        // Class 2 ties class 1 for the top value: both count as in the top 1, as in TF.
        assert_eq!(got[2].to_vec::<bool>()?, vec![true, false]);
        assert_eq!(got[3].to_vec::<bool>()?, vec![true, true]);
        assert_eq!(got[4].to_vec::<bool>()?, vec![false, true]);

        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::from_vec(&[2, 4], vec![0.0f32; 8])?)?;
        let err = g.top_k(x, 5).unwrap_err();
        assert!(err.message().contains("TopKV2") && err.message().contains("Const:0"), "{err}");
        Ok(())
    }
}
