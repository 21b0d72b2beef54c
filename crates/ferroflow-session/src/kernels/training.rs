//! Optimizer update kernels (TF's `training_ops`): each updates a variable and its slots in place, under
//! the variables' locks, copying only when a value read earlier in the step is still alive.

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use crate::resource_manager::VariableCell;
use ferroflow_core::{DType, Error, Result, Shape, Tensor, TensorElement};
use ndarray::{ArcArray, IxDyn, Zip};
use std::sync::Arc;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("ApplyGradientDescent", apply_gradient_descent),
    ("ApplyMomentum", apply_momentum),
    ("ApplyAdam", apply_adam),
    ("ApplyAdagrad", apply_adagrad),
    ("ApplyRMSProp", apply_rms_prop),
    ("ExponentialDecay", exponential_decay),
    ("PolynomialDecay", polynomial_decay),
    ("PiecewiseConstant", piecewise_constant),
];

/// Float element types the optimizers update.
trait Real: TensorElement + Copy + Send + Sync + num_like::Float {}
impl Real for f32 {}
impl Real for f64 {}

mod num_like {
    /// The float operations the update rules need.
    pub trait Float:
        Copy
        + std::ops::Add<Output = Self>
        + std::ops::Sub<Output = Self>
        + std::ops::Mul<Output = Self>
        + std::ops::Div<Output = Self>
    {
        fn sqrt(self) -> Self;
        fn from_f64(v: f64) -> Self;
    }
    impl Float for f32 {
        fn sqrt(self) -> Self {
            f32::sqrt(self)
        }
        fn from_f64(v: f64) -> Self {
            v as f32
        }
    }
    impl Float for f64 {
        fn sqrt(self) -> Self {
            f64::sqrt(self)
        }
        fn from_f64(v: f64) -> Self {
            v
        }
    }
}

/// The variable and slot cells of an update node: attribute `var`, then `slots` in order.
/// An update rule over the variable, its slots and the gradient.
type UpdateFn<'a, T> =
    dyn Fn(&mut ArcArray<T, IxDyn>, &mut [&mut ArcArray<T, IxDyn>], ndarray::ArrayViewD<'_, T>) + 'a;
/// A closure run with every slot locked.
type SlotsFn<'a, T> = dyn FnMut(&mut [&mut ArcArray<T, IxDyn>]) -> Result<()> + 'a;

fn cells(init: &KernelInit<'_>) -> Result<(Arc<VariableCell>, Vec<Arc<VariableCell>>)> {
    let var = init.resources.variable(init.node.attrs.str("var")?);
    let slots = match init.node.attrs.get("slots") {
        Some(_) => init.node.attrs.strs("slots")?.iter().map(|s| init.resources.variable(s)).collect(),
        None => Vec::new(),
    };
    Ok((var, slots))
}

fn scalar_f64(t: &Tensor, what: &str) -> Result<f64> {
    match t {
        Tensor::F32(a) if a.len() == 1 => Ok(a.iter().next().map_or(0.0, |&v| f64::from(v))),
        Tensor::F64(a) if a.len() == 1 => Ok(a.iter().next().copied().unwrap_or(0.0)),
        other => Err(Error::invalid_argument(format!(
            "{what} must be a float scalar, got {} of shape {}",
            other.dtype(),
            Shape::from(other.shape())
        ))),
    }
}

fn check_grad<T: Real>(var: &ArcArray<T, IxDyn>, grad: &Tensor, name: &str) -> Result<()> {
    if var.shape() != grad.shape() {
        return Err(Error::invalid_argument(format!(
            "var and grad do not have the same shape {} {} (variable {name})",
            Shape::from(var.shape()),
            Shape::from(grad.shape())
        )));
    }
    Ok(())
}

/// Runs `f` on the variable's and slots' arrays, all locked, for the variable's dtype.
fn update_all<T: Real>(
    var: &VariableCell,
    slots: &[Arc<VariableCell>],
    grad: &Tensor,
    f: &UpdateFn<'_, T>,
) -> Result<Tensor> {
    let g = grad.view::<T>()?;
    var.update(|v| {
        let arr = v.array_mut::<T>()?;
        check_grad(arr, grad, var.name())?;
        nested(slots, &mut |slot_arrays: &mut [&mut ArcArray<T, IxDyn>]| {
            f(arr, slot_arrays, g.view());
            Ok(())
        })?;
        Ok(v.clone())
    })
}

/// Locks the slots one after another (nested, so each guard lives while `f` runs).
fn nested<T: Real>(slots: &[Arc<VariableCell>], f: &mut SlotsFn<'_, T>) -> Result<()> {
    match slots {
        [] => f(&mut []),
        [a] => a.update(|ta| {
            let a = ta.array_mut::<T>()?;
            f(&mut [a])
        }),
        [a, b] => a.update(|ta| {
            b.update(|tb| {
                let (a, b) = (ta.array_mut::<T>()?, tb.array_mut::<T>()?);
                f(&mut [a, b])
            })
        }),
        _ => Err(Error::internal("optimizers have at most two slots per variable")),
    }
}

struct Apply {
    var: Arc<VariableCell>,
    slots: Vec<Arc<VariableCell>>,
    rule: Rule,
}

#[derive(Clone, Copy)]
enum Rule {
    Sgd,
    Momentum { nesterov: bool },
    Adam { nesterov: bool },
    Adagrad,
    RmsProp,
}

impl Apply {
    fn run<T: Real>(&self, s: &[f64], grad: &Tensor) -> Result<Tensor> {
        let c = |v: f64| T::from_f64(v);
        match self.rule {
            Rule::Sgd => {
                let lr = c(s[0]);
                update_all::<T>(&self.var, &self.slots, grad, &|v, _, g| {
                    Zip::from(v.view_mut()).and(&g).for_each(|w, &d| *w = *w - lr * d);
                })
            }
            Rule::Momentum { nesterov } => {
                let (lr, mom) = (c(s[0]), c(s[1]));
                update_all::<T>(&self.var, &self.slots, grad, &|v, sl, g| {
                    if let [accum] = sl {
                        Zip::from(v.view_mut()).and(accum.view_mut()).and(&g).for_each(|w, a, &d| {
                            *a = *a * mom + d;
                            *w = if nesterov { *w - (d * lr + *a * mom * lr) } else { *w - lr * *a };
                        });
                    }
                })
            }
            Rule::Adam { nesterov } => {
                let (b1p, b2p, lr, b1, b2, eps) = (s[0], s[1], s[2], s[3], s[4], s[5]);
                let alpha = c(lr * (1.0 - b2p).sqrt() / (1.0 - b1p));
                let (b1, b2, eps) = (c(b1), c(b2), c(eps));
                let one = c(1.0);
                update_all::<T>(&self.var, &self.slots, grad, &|v, sl, g| {
                    if let [m, vv] = sl {
                        Zip::from(v.view_mut()).and(m.view_mut()).and(vv.view_mut()).and(&g).for_each(
                            |w, m, u, &d| {
                                *m = *m + (d - *m) * (one - b1);
                                *u = *u + (d * d - *u) * (one - b2);
                                let step = if nesterov { *m * b1 + d * (one - b1) } else { *m };
                                *w = *w - alpha * step / (u.sqrt() + eps);
                            },
                        );
                    }
                })
            }
            Rule::Adagrad => {
                let lr = c(s[0]);
                update_all::<T>(&self.var, &self.slots, grad, &|v, sl, g| {
                    if let [accum] = sl {
                        Zip::from(v.view_mut()).and(accum.view_mut()).and(&g).for_each(|w, a, &d| {
                            *a = *a + d * d;
                            *w = *w - lr * d / a.sqrt();
                        });
                    }
                })
            }
            Rule::RmsProp => {
                let (lr, rho, momentum, eps) = (c(s[0]), c(s[1]), c(s[2]), c(s[3]));
                let one = c(1.0);
                update_all::<T>(&self.var, &self.slots, grad, &|v, sl, g| {
                    if let [ms, mom] = sl {
                        Zip::from(v.view_mut()).and(ms.view_mut()).and(mom.view_mut()).and(&g).for_each(
                            |w, ms, mo, &d| {
                                *ms = *ms + (d * d - *ms) * (one - rho);
                                *mo = *mo * momentum + lr * d / (ms.sqrt() + eps);
                                *w = *w - *mo;
                            },
                        );
                    }
                })
            }
        }
    }
}

impl OpKernel for Apply {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let n = ctx.inputs.len();
        let grad = ctx.take_input(n - 1)?;
        let scalars = ctx.inputs[..n - 1]
            .iter()
            .enumerate()
            .map(|(i, t)| scalar_f64(t, &format!("hyperparameter {i} of the update of {}", self.var.name())))
            .collect::<Result<Vec<_>>>()?;
        let out = match grad.dtype() {
            DType::F32 => self.run::<f32>(&scalars, &grad)?,
            DType::F64 => self.run::<f64>(&scalars, &grad)?,
            d => {
                return Err(Error::invalid_argument(format!(
                    "cannot apply a {d} gradient to {}",
                    self.var.name()
                )))
            }
        };
        ctx.output(out);
        Ok(())
    }
}

fn make(init: &KernelInit<'_>, rule: Rule) -> Result<Box<dyn OpKernel>> {
    let (var, slots) = cells(init)?;
    Ok(Box::new(Apply { var, slots, rule }))
}

fn apply_gradient_descent(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Rule::Sgd)
}

fn apply_momentum(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Rule::Momentum { nesterov: init.node.attrs.bool_or("use_nesterov", false) })
}

fn apply_adam(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Rule::Adam { nesterov: init.node.attrs.bool_or("use_nesterov", false) })
}

fn apply_adagrad(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Rule::Adagrad)
}

fn apply_rms_prop(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Rule::RmsProp)
}

/// A learning-rate schedule evaluated on the global step.
struct Schedule {
    f: Box<dyn Fn(f64) -> f64 + Send + Sync>,
    dtype: DType,
}

impl OpKernel for Schedule {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let step = match ctx.input(0)? {
            Tensor::I64(a) => a.iter().next().map_or(0.0, |&v| v as f64),
            Tensor::I32(a) => a.iter().next().map_or(0.0, |&v| f64::from(v)),
            other => scalar_f64(other, "global step")?,
        };
        ctx.output(Tensor::scalar((self.f)(step)).cast(self.dtype)?);
        Ok(())
    }
}

fn exponential_decay(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let a = &init.node.attrs;
    let (lr, steps, rate, stair) = (
        a.float("learning_rate")?,
        a.float("decay_steps")?,
        a.float("decay_rate")?,
        a.bool_or("staircase", false),
    );
    Ok(Box::new(Schedule {
        f: Box::new(move |s| {
            let p = s / steps;
            lr * rate.powf(if stair { p.floor() } else { p })
        }),
        dtype: a.dtype("dtype")?,
    }))
}

fn polynomial_decay(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let a = &init.node.attrs;
    let (lr, steps, end, power, cycle) = (
        a.float("learning_rate")?,
        a.float("decay_steps")?,
        a.float("end_learning_rate")?,
        a.float("power")?,
        a.bool_or("cycle", false),
    );
    Ok(Box::new(Schedule {
        f: Box::new(move |s| {
            let (s, steps) = if cycle {
                let mult = if s == 0.0 { 1.0 } else { (s / steps).ceil() };
                (s, steps * mult)
            } else {
                (s.min(steps), steps)
            };
            (lr - end) * (1.0 - s / steps).powf(power) + end
        }),
        dtype: a.dtype("dtype")?,
    }))
}

fn piecewise_constant(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let a = &init.node.attrs;
    let boundaries: Vec<f64> = a.ints("boundaries")?.iter().map(|&b| b as f64).collect();
    let values: Vec<f64> = match a.get("values") {
        Some(ferroflow_graph::AttrValue::Floats(v)) => v.clone(),
        _ => return Err(Error::invalid_argument("PiecewiseConstant needs float values")),
    };
    if values.len() != boundaries.len() + 1 {
        return Err(Error::invalid_argument(format!(
            "piecewise_constant: {} values for {} boundaries (need one more value than boundaries)",
            values.len(),
            boundaries.len()
        )));
    }
    Ok(Box::new(Schedule {
        f: Box::new(move |s| {
            let i = boundaries.iter().position(|&b| s <= b).unwrap_or(boundaries.len());
            values.get(i).copied().unwrap_or(0.0)
        }),
        dtype: a.dtype("dtype")?,
    }))
}
