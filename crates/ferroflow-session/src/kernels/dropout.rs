//! The dropout mask: `1 / (1 - rate)` where a uniform draw is at least `rate`, else 0 (TF's
//! `nn_ops.dropout` computes the same from `random_uniform`). Seeded like the random kernels, so a
//! seeded graph draws the same masks run after run in a new session.

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{DType, Error, Result, Tensor};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[("DropoutMask", dropout_mask)];

struct DropoutMask {
    rng: Mutex<StdRng>,
    rate: f64,
    dtype: DType,
}

impl OpKernel for DropoutMask {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let dims: Vec<usize> = super::int_values(ctx.input(0)?, "DropoutMask's shape")?
            .into_iter()
            .map(|d| {
                usize::try_from(d).map_err(|_| Error::invalid_argument("DropoutMask: negative dimension"))
            })
            .collect::<Result<_>>()?;
        let n: usize = dims.iter().product();
        let keep = 1.0 / (1.0 - self.rate);
        let mut rng = self.rng.lock();
        let mask: Vec<f64> = (0..n).map(|_| if rng.gen::<f64>() >= self.rate { keep } else { 0.0 }).collect();
        ctx.output(Tensor::from_vec(&dims, mask)?.cast(self.dtype)?);
        Ok(())
    }
}

fn dropout_mask(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let attrs = &init.node.attrs;
    let (seed, seed2) = (attrs.int_or("seed", 0), attrs.int_or("seed2", 0));
    // The same seed mixing as the random kernels, so (seed, seed2) pairs mean the same everywhere.
    let rng = if seed == 0 && seed2 == 0 {
        StdRng::from_entropy()
    } else {
        StdRng::seed_from_u64((seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (seed2 as u64))
    };
    let rate = attrs.float("rate")?;
    if !(0.0..1.0).contains(&rate) {
        return Err(Error::invalid_argument(format!("DropoutMask: rate {rate} must be in [0, 1)")));
    }
    Ok(Box::new(DropoutMask { rng: Mutex::new(rng), rate, dtype: attrs.dtype("dtype")? }))
}
