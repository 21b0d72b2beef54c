//! Fused batch normalization over the last (channel) axis and its gradient, in f64 accumulators.

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{DType, Error, Result, Shape, Tensor, TensorElement};

pub(crate) const KERNELS: &[(&str, KernelFactory)] =
    &[("FusedBatchNorm", fused_batch_norm), ("FusedBatchNormGrad", fused_batch_norm_grad)];

/// A float type the kernels read and write through f64.
trait Real: TensorElement + Copy {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Real for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Real for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// The elements of `t` as f64 in row-major order.
fn values<T: Real>(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.array::<T>()?.iter().map(|v| v.to_f64()).collect())
}

fn channel_vec<T: Real>(t: &Tensor, c: usize, what: &str) -> Result<Vec<f64>> {
    if t.shape() != [c] {
        return Err(Error::invalid_argument(format!(
            "FusedBatchNorm: {what} must have shape [{c}], got {}",
            Shape::from(t.shape())
        )));
    }
    values::<T>(t)
}

fn tensor<T: Real>(shape: &[usize], v: &[f64]) -> Result<Tensor> {
    Tensor::from_vec(shape, v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>())
}

/// Rows and channels of `x` viewed as `[rows, channels]`.
fn layout(x: &Tensor) -> Result<(usize, usize)> {
    match x.shape().split_last() {
        Some((&c, rest)) if !rest.is_empty() => Ok((rest.iter().product(), c)),
        _ => Err(Error::invalid_argument(format!(
            "FusedBatchNorm: x must have rank >= 2, got {}",
            Shape::from(x.shape())
        ))),
    }
}

/// Per-channel mean and biased variance of `[rows, c]` data.
fn moments(x: &[f64], rows: usize, c: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; c];
    for row in x.chunks_exact(c) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    let n = rows.max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; c];
    for row in x.chunks_exact(c) {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    var.iter_mut().for_each(|s| *s /= n);
    (mean, var)
}

struct BatchNorm {
    epsilon: f64,
    training: bool,
}

impl BatchNorm {
    fn forward<T: Real>(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let x = ctx.input(0)?;
        let (rows, c) = layout(x)?;
        let xs = values::<T>(x)?;
        let scale = channel_vec::<T>(ctx.input(1)?, c, "scale")?;
        let offset = channel_vec::<T>(ctx.input(2)?, c, "offset")?;
        let (mean, var) = if self.training {
            moments(&xs, rows, c)
        } else {
            (channel_vec::<T>(ctx.input(3)?, c, "mean")?, channel_vec::<T>(ctx.input(4)?, c, "variance")?)
        };
        let mul: Vec<f64> = var.iter().zip(&scale).map(|(v, s)| s / (v + self.epsilon).sqrt()).collect();
        let mut y = xs;
        for row in y.chunks_exact_mut(c) {
            for (i, v) in row.iter_mut().enumerate() {
                *v = (*v - mean[i]) * mul[i] + offset[i];
            }
        }
        // TF reports the unbiased variance for the moving average, and keeps the biased one for the
        // gradient.
        let unbiased: Vec<f64> = if self.training && rows > 1 {
            var.iter().map(|v| v * rows as f64 / (rows - 1) as f64).collect()
        } else {
            var.clone()
        };
        let shape = x.shape().to_vec();
        ctx.output(tensor::<T>(&shape, &y)?);
        ctx.output(tensor::<T>(&[c], &mean)?);
        ctx.output(tensor::<T>(&[c], &unbiased)?);
        ctx.output(tensor::<T>(&[c], &mean)?);
        ctx.output(tensor::<T>(&[c], &var)?);
        Ok(())
    }

    /// Inputs `(dy, x, scale, mean, variance)`; outputs `(dx, dscale, doffset)`.
    fn backward<T: Real>(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let (dy_t, x) = (ctx.input(0)?, ctx.input(1)?);
        if dy_t.shape() != x.shape() {
            return Err(Error::invalid_argument(format!(
                "FusedBatchNormGrad: y_backprop {} and x {} differ in shape",
                Shape::from(dy_t.shape()),
                Shape::from(x.shape())
            )));
        }
        let (rows, c) = layout(x)?;
        let (dy, xs) = (values::<T>(dy_t)?, values::<T>(x)?);
        let scale = channel_vec::<T>(ctx.input(2)?, c, "scale")?;
        let mean = channel_vec::<T>(ctx.input(3)?, c, "mean")?;
        let var = channel_vec::<T>(ctx.input(4)?, c, "variance")?;
        let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v + self.epsilon).sqrt()).collect();
        let (mut dbeta, mut dgamma) = (vec![0.0; c], vec![0.0; c]);
        for (drow, xrow) in dy.chunks_exact(c).zip(xs.chunks_exact(c)) {
            for i in 0..c {
                dbeta[i] += drow[i];
                dgamma[i] += drow[i] * (xrow[i] - mean[i]) * inv[i];
            }
        }
        let m = rows.max(1) as f64;
        let mut dx = vec![0.0; xs.len()];
        for ((o, drow), xrow) in dx.chunks_exact_mut(c).zip(dy.chunks_exact(c)).zip(xs.chunks_exact(c)) {
            for i in 0..c {
                o[i] = if self.training {
                    let xhat = (xrow[i] - mean[i]) * inv[i];
                    scale[i] * inv[i] / m * (m * drow[i] - dbeta[i] - xhat * dgamma[i])
                } else {
                    drow[i] * scale[i] * inv[i]
                };
            }
        }
        let shape = x.shape().to_vec();
        ctx.output(tensor::<T>(&shape, &dx)?);
        ctx.output(tensor::<T>(&[c], &dgamma)?);
        ctx.output(tensor::<T>(&[c], &dbeta)?);
        Ok(())
    }
}

struct Forward(BatchNorm);
struct Backward(BatchNorm);

fn float(t: &Tensor) -> Result<DType> {
    match t.dtype() {
        d @ (DType::F32 | DType::F64) => Ok(d),
        d => Err(Error::invalid_argument(format!("batch normalization does not support {d}"))),
    }
}

impl OpKernel for Forward {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        match float(ctx.input(0)?)? {
            DType::F64 => self.0.forward::<f64>(ctx),
            _ => self.0.forward::<f32>(ctx),
        }
    }
}

impl OpKernel for Backward {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        match float(ctx.input(0)?)? {
            DType::F64 => self.0.backward::<f64>(ctx),
            _ => self.0.backward::<f32>(ctx),
        }
    }
}

fn config(init: &KernelInit<'_>) -> Result<BatchNorm> {
    Ok(BatchNorm {
        epsilon: init.node.attrs.float("epsilon").unwrap_or(1e-3),
        training: init.node.attrs.bool_or("is_training", true),
    })
}

fn fused_batch_norm(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(Forward(config(init)?)))
}

fn fused_batch_norm_grad(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(Backward(config(init)?)))
}
