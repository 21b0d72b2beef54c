//! Matrix products through the `gemm` crate (multi-threaded, SIMD).
#![allow(unsafe_code)]

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{Error, Result, Shape, Tensor};
use ndarray::{Array2, ArrayView2, Ix2};

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[("MatMul", matmul)];

/// Products with fewer multiply-adds than this run on one thread: splitting them costs more than it saves.
const PARALLEL_FLOPS: usize = 1 << 18;

/// An element type `gemm` multiplies.
pub trait GemmElement: Copy + Default + Send + Sync + 'static {
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
}
impl GemmElement for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}
impl GemmElement for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

/// `a · b` for any strides (a transposed view is just swapped strides), on up to `threads` threads.
///
/// # Errors
/// `InvalidArgument` when the inner dimensions differ.
pub fn gemm_matmul<T: GemmElement>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    threads: usize,
) -> Result<Array2<T>> {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    if k != k2 {
        return Err(Error::invalid_argument(format!(
            "Matrix size-incompatible: In[0]: {}, In[1]: {}",
            Shape::new(vec![m, k]),
            Shape::new(vec![k2, n])
        )));
    }
    let mut c = Array2::<T>::from_elem((m, n), T::ZERO);
    if m == 0 || n == 0 || k == 0 {
        return Ok(c);
    }
    let parallelism = if threads > 1 && m * n * k >= PARALLEL_FLOPS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let (cs, rs) = (c.strides()[1], c.strides()[0]);
    let dst = c.as_mut_ptr();
    // Safety: `dst` points to an owned m×n array with strides (rs, cs); `a` and `b` are live views whose
    // pointers and strides describe m×k and k×n matrices inside their allocations (ndarray guarantees the
    // strides are valid for the view's dimensions). The three do not overlap because `c` is freshly
    // allocated.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            cs,
            rs,
            false,
            a.as_ptr(),
            a.strides()[1],
            a.strides()[0],
            b.as_ptr(),
            b.strides()[1],
            b.strides()[0],
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(c)
}

struct MatMul {
    transpose_a: bool,
    transpose_b: bool,
}

impl MatMul {
    fn product<T: GemmElement + ferroflow_core::TensorElement>(
        &self,
        a: &Tensor,
        b: &Tensor,
        threads: usize,
    ) -> Result<Tensor> {
        let a = a.view::<T>()?.into_dimensionality::<Ix2>().map_err(|_| not_matrix(a))?;
        let b = b.view::<T>()?.into_dimensionality::<Ix2>().map_err(|_| not_matrix(b))?;
        let a = if self.transpose_a { a.reversed_axes() } else { a };
        let b = if self.transpose_b { b.reversed_axes() } else { b };
        Ok(Tensor::from(gemm_matmul(a, b, threads)?.into_dyn()))
    }
}

fn not_matrix(t: &Tensor) -> Error {
    Error::invalid_argument(format!("In[0] and In[1] must be matrices, got shape {}", Shape::from(t.shape())))
}

impl OpKernel for MatMul {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let (a, b) = (ctx.input(0)?, ctx.input(1)?);
        let out = match a.dtype() {
            ferroflow_core::DType::F32 => self.product::<f32>(a, b, ctx.threads)?,
            ferroflow_core::DType::F64 => self.product::<f64>(a, b, ctx.threads)?,
            d => return Err(Error::invalid_argument(format!("MatMul does not support {d}"))),
        };
        ctx.output(out);
        Ok(())
    }
}

fn matmul(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(MatMul {
        transpose_a: init.node.attrs.bool_or("transpose_a", false),
        transpose_b: init.node.attrs.bool_or("transpose_b", false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_ndarray_dot_with_transposes() -> Result<()> {
        let a = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0f64, 0.5], [2.0, -1.0], [0.0, 3.0]];
        assert_eq!(gemm_matmul(a.view(), b.view(), 1)?, a.dot(&b));
        assert_eq!(gemm_matmul(b.t(), a.t(), 2)?, b.t().dot(&a.t()));
        assert!(gemm_matmul(a.view(), a.view(), 1).is_err());
        Ok(())
    }
}
