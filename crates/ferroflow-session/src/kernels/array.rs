//! Kernels of placeholders, constants, identity and shape manipulation.

use super::int_values;
use crate::kernel::{FnKernel, KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{match_tensor, Error, Result, Shape, Tensor};
use ndarray::IxDyn;

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
