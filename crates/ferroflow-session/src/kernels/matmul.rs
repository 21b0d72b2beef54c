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
        let (a_rs, a_cs, b_rs, b_cs) = (a.strides()[0], a.strides()[1], b.strides()[0], b.strides()[1]);
        let handled = cs == 1
            && gemm_f32_fast(m, n, k, dst, rs, false, (a.as_ptr(), a_rs, a_cs), (b.as_ptr(), b_rs, b_cs), threads);
        if !handled {
            gemm::gemm(
                m,
                n,
                k,
                dst,
                cs,
                rs,
                false,
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                T::ZERO,
                T::ONE,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
    Ok(c)
}

/// Products smaller than this (multiply-adds) stay with `gemm`: the AVX-512 path's setup does not pay.
const FAST_MIN_FLOPS: usize = 1 << 15;

/// `c (m×n, row stride ldc, unit column stride) = a · b`, or `+=` when `accumulate`, through the AVX-512
/// kernel below when `T` is `f32`, the CPU has AVX-512F and the product is big enough. Returns whether it
/// ran; when it returns false nothing was touched and the caller must use `gemm`.
///
/// Why our own kernel: the `gemm` crate only uses AVX-512 with its `nightly` feature, so on a stable
/// toolchain it runs 256-bit FMAs, half the throughput of CPUs with full-width AVX-512 units (Zen 5,
/// the dev machine), where TensorFlow's oneDNN uses 512-bit ones.
///
/// # Safety
/// `c` must be valid for writes (and reads when `accumulate`) of an m×n matrix with row stride `ldc` and
/// column stride 1, and must not overlap the operands; `(ptr, row stride, column stride)` of `a` and `b`
/// must address m×k and k×n matrices inside live allocations.
#[allow(clippy::too_many_arguments)] // gemm's own shape: dimensions, operands and flags
pub(crate) unsafe fn gemm_f32_fast<T: GemmElement>(
    m: usize,
    n: usize,
    k: usize,
    c: *mut T,
    ldc: isize,
    accumulate: bool,
    a: (*const T, isize, isize),
    b: (*const T, isize, isize),
    threads: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f32>()
            || m.saturating_mul(n).saturating_mul(k) < FAST_MIN_FLOPS
            || k == 0
            || !avx512::available()
        {
            return false;
        }
        let threads = if m * n * k >= PARALLEL_FLOPS { threads.max(1) } else { 1 };
        // Safety: `T` is `f32` (checked above), so the casts only rename the type; the caller's contract
        // covers the rest.
        unsafe {
            avx512::sgemm(
                m,
                n,
                k,
                c.cast::<f32>(),
                ldc,
                accumulate,
                (a.0.cast::<f32>(), a.1, a.2),
                (b.0.cast::<f32>(), b.1, b.2),
                threads,
            );
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, k, c, ldc, accumulate, a, b, threads);
        false
    }
}

/// A single-precision GEMM with a 12×32 AVX-512 register tile.
///
/// Operands are read in place through their strides (A is broadcast one element at a time, so any
/// layout works; B is read as rows of 32), except a B whose columns are not contiguous, which is first
/// copied row-major. C is cut into row blocks, one rayon task per block; each element's sum runs over
/// k in the same order whatever the thread count, so results are deterministic.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use rayon::prelude::*;
    use std::arch::x86_64::*;

    /// Rows of the register tile.
    const MR: usize = 12;
    /// Columns of the register tile (two 16-lane vectors).
    const NR: usize = 32;
    /// Depth of one pass: a 32-column panel of B, `KC` deep, is 32 KiB and stays in L1.
    const KC: usize = 256;
    /// Rows of A swept per B panel (a multiple of MR): 192 rows × KC stay in L2.
    const MC: usize = 192;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// A raw pointer that may cross threads: tasks write disjoint row blocks of C.
    #[derive(Clone, Copy)]
    struct SendPtr<T>(T);
    // Safety: only used for the C and operand pointers of `sgemm`, whose row blocks are disjoint across
    // tasks (writes) or only read (operands).
    unsafe impl<T> Send for SendPtr<T> {}
    // Safety: as above.
    unsafe impl<T> Sync for SendPtr<T> {}

    /// See [`super::gemm_f32_fast`]; requires AVX-512F.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn sgemm(
        m: usize,
        n: usize,
        k: usize,
        c: *mut f32,
        ldc: isize,
        accumulate: bool,
        a: (*const f32, isize, isize),
        b: (*const f32, isize, isize),
        threads: usize,
    ) {
        // A B with strided columns is copied row-major once: the kernel loads rows of B as vectors.
        let copied: Vec<f32>;
        let (b_ptr, ldb) = if b.2 == 1 {
            (b.0, b.1)
        } else {
            let mut v = Vec::with_capacity(k * n);
            for p in 0..k {
                for j in 0..n {
                    // Safety: (p, j) is inside the k×n matrix the caller described.
                    v.push(unsafe { *b.0.offset(p as isize * b.1 + j as isize * b.2) });
                }
            }
            copied = v;
            (copied.as_ptr(), n as isize)
        };
        let tiles = m.div_ceil(MR);
        let tasks = threads.clamp(1, tiles);
        let per = tiles.div_ceil(tasks);
        let (cp, ap, bp) = (SendPtr(c), SendPtr(a.0), SendPtr(b_ptr));
        let run = |t: usize| {
            let (cp, ap, bp) = (cp, ap, bp);
            let rows = (t * per * MR).min(m)..((t + 1) * per * MR).min(m);
            // Safety: the task's rows are inside C and disjoint from other tasks'; the rest is the
            // caller's contract.
            unsafe { block(rows, n, k, cp.0, ldc, accumulate, (ap.0, a.1, a.2), (bp.0, ldb)) };
        };
        if tasks > 1 {
            (0..tasks).into_par_iter().for_each(run);
        } else {
            run(0);
        }
    }

    /// Rows `rows` of C.
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(
        rows: std::ops::Range<usize>,
        n: usize,
        k: usize,
        c: *mut f32,
        ldc: isize,
        accumulate: bool,
        a: (*const f32, isize, isize),
        b: (*const f32, isize),
    ) {
        let mut pc = 0;
        while pc < k {
            let kc = KC.min(k - pc);
            let acc = accumulate || pc > 0;
            let mut ic = rows.start;
            while ic < rows.end {
                let mc = MC.min(rows.end - ic);
                let mut jc = 0;
                while jc < n {
                    let nr = NR.min(n - jc);
                    let mask = |from: usize| -> u16 {
                        let w = nr.saturating_sub(from).min(16);
                        if w == 16 {
                            u16::MAX
                        } else {
                            (1u16 << w) - 1
                        }
                    };
                    let (m0, m1) = (mask(0), mask(16));
                    let bj = b.0.offset(pc as isize * b.1 + jc as isize);
                    let mut ir = ic;
                    while ir < ic + mc {
                        let mr = MR.min(ic + mc - ir);
                        let ai = a.0.offset(ir as isize * a.1 + pc as isize * a.2);
                        let ci = c.offset(ir as isize * ldc + jc as isize);
                        // Safety: the tile lies inside the matrices (mr, nr and kc are clipped to them).
                        unsafe { kernel(kc, ai, a.1, a.2, mr, bj, b.1, m0, m1, ci, ldc, acc) };
                        ir += MR;
                    }
                    jc += NR;
                }
                ic += mc;
            }
            pc += kc;
        }
    }

    /// One MR×32 tile of C over `kc` steps of k. Rows of A past `mr` re-read row 0 (always valid) and
    /// are not stored; columns past the masks are neither loaded nor stored (so the second vector's address may lie past
    /// the end when the tile is at most 16 wide: hence `wrapping_add`).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel(
        kc: usize,
        a: *const f32,
        a_rs: isize,
        a_cs: isize,
        mr: usize,
        b: *const f32,
        ldb: isize,
        m0: u16,
        m1: u16,
        c: *mut f32,
        ldc: isize,
        accumulate: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        let mut rows = [a; MR];
        for (i, r) in rows.iter_mut().enumerate() {
            *r = a.offset(if i < mr { i as isize * a_rs } else { 0 });
        }
        for p in 0..kc as isize {
            let bp = b.offset(p * ldb);
            let b0 = _mm512_maskz_loadu_ps(m0, bp);
            let b1 = _mm512_maskz_loadu_ps(m1, bp.wrapping_add(16));
            for i in 0..MR {
                let av = _mm512_set1_ps(*rows[i].offset(p * a_cs));
                acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
            }
        }
        for (i, row) in acc.iter().enumerate().take(mr) {
            let ci = c.offset(i as isize * ldc);
            let (mut v0, mut v1) = (row[0], row[1]);
            if accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci.wrapping_add(16)));
            }
            _mm512_mask_storeu_ps(ci, m0, v0);
            _mm512_mask_storeu_ps(ci.wrapping_add(16), m1, v1);
        }
    }
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

    /// The AVX-512 path (where the CPU has it) against a plain triple loop, on shapes with partial
    /// tiles, several k passes, transposed operands and accumulation.
    #[test]
    fn fast_f32_path_matches_the_definition() -> Result<()> {
        for (m, n, k) in [(13, 33, 300), (128, 10, 256), (40, 16, 77), (25, 64, 800), (7, 100, 64)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.5).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 / 11.0 - 0.5).collect();
            let a2 = Array2::from_shape_vec((m, k), a.clone())?;
            let b2 = Array2::from_shape_vec((k, n), b.clone())?;
            let bt = b2.t().as_standard_layout().into_owned();
            let expected = a2.dot(&b2);
            for threads in [1, 2] {
                let got = gemm_matmul(a2.view(), b2.view(), threads)?;
                let got_t = gemm_matmul(a2.t().as_standard_layout().t(), bt.t(), threads)?;
                for (g, e) in got.iter().chain(got_t.iter()).zip(expected.iter().chain(expected.iter())) {
                    assert!((g - e).abs() < 1e-3, "{m}x{n}x{k}: {g} vs {e}");
                }
                // `+=`: C starts at ones.
                let mut c = vec![1.0f32; m * n];
                // Safety: `c` is m×n row-major and owned here; `a` and `b` are m×k and k×n row-major.
                let ran = unsafe {
                    gemm_f32_fast(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        n as isize,
                        true,
                        (a.as_ptr(), k as isize, 1),
                        (b.as_ptr(), n as isize, 1),
                        threads,
                    )
                };
                if ran {
                    for (g, e) in c.iter().zip(expected.iter()) {
                        assert!((g - (e + 1.0)).abs() < 1e-3, "{m}x{n}x{k} accumulate: {g} vs {e}");
                    }
                }
            }
        }
        Ok(())
    }
}
