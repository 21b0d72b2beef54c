//! Seeded random kernels. Each kernel owns its generator, so a seeded op yields the same sequence of
//! values run after run in a new session, as TF's do.

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{DType, Error, Result, Tensor};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

pub(crate) const KERNELS: &[(&str, KernelFactory)] =
    &[("RandomStandardNormal", normal), ("RandomUniform", uniform), ("TruncatedNormal", truncated)];

#[derive(Clone, Copy)]
enum Dist {
    Normal,
    Uniform,
    Truncated,
}

struct RandomKernel {
    rng: Mutex<StdRng>,
    dist: Dist,
    dtype: DType,
    shape: Vec<usize>,
}

impl RandomKernel {
    fn sample(&self, rng: &mut StdRng) -> f64 {
        match self.dist {
            Dist::Normal => rng.sample(StandardNormal),
            Dist::Uniform => rng.gen::<f64>(),
            Dist::Truncated => loop {
                let v: f64 = rng.sample(StandardNormal);
                if v.abs() <= 2.0 {
                    break v;
                }
            },
        }
    }
}

impl OpKernel for RandomKernel {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let n: usize = self.shape.iter().product();
        let mut rng = self.rng.lock();
        let out = match self.dtype {
            DType::F32 => {
                Tensor::from_vec(&self.shape, (0..n).map(|_| self.sample(&mut rng) as f32).collect())?
            }
            DType::F64 => Tensor::from_vec(&self.shape, (0..n).map(|_| self.sample(&mut rng)).collect())?,
            d => return Err(Error::invalid_argument(format!("random ops produce floats, not {d}"))),
        };
        ctx.output(out);
        Ok(())
    }
}

fn make(init: &KernelInit<'_>, dist: Dist) -> Result<Box<dyn OpKernel>> {
    let attrs = &init.node.attrs;
    let (seed, seed2) = (attrs.int_or("seed", 0), attrs.int_or("seed2", 0));
    let rng = if seed == 0 && seed2 == 0 {
        StdRng::from_entropy()
    } else {
        StdRng::seed_from_u64((seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed2 as u64))
    };
    let shape = attrs.shape("shape")?.to_shape().ok_or_else(|| {
        Error::invalid_argument(format!("random op '{}' needs a fully known shape", init.node.name))
    })?;
    Ok(Box::new(RandomKernel { rng: Mutex::new(rng), dist, dtype: attrs.dtype("dtype")?, shape: shape.0 }))
}

fn normal(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Dist::Normal)
}

fn uniform(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Dist::Uniform)
}

fn truncated(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Dist::Truncated)
}
