//! Matrix products: f32 on our own AVX-512 kernel where the CPU has it (also serving the convolutions,
//! which read their im2col matrix in place through `gather_gemm`), otherwise the `gemm` crate.
#![allow(unsafe_code)]

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{Error, Result, Shape, Tensor};
use ndarray::{Array2, ArrayView2, Ix2};
use std::mem::MaybeUninit;

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
            && gemm_f32_fast(
                m,
                n,
                k,
                dst,
                rs,
                false,
                (a.as_ptr(), a_rs, a_cs),
                (b.as_ptr(), b_rs, b_cs),
                threads,
            );
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

/// Products of the AVX-512 path below this many multiply-adds run on one thread.
const FAST_PARALLEL_FLOPS: usize = 1 << 21;

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
        // Each extra task is a hand-off that waits for a core: only products of a few million
        // multiply-adds and more are split (on 2 shared cores a late worker costs more than it saves).
        let threads = if m * n * k >= FAST_PARALLEL_FLOPS { threads.max(1) } else { 1 };
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

/// Columns of a panel of [`pack_panels`]: a row-major matrix of exactly this many columns is its own
/// packed form.
pub(crate) const PANEL: usize = 32;

/// Values a k×n matrix takes once packed by [`pack_panels`].
pub(crate) fn panels_len(k: usize, n: usize) -> usize {
    n.div_ceil(PANEL) * k * PANEL
}

/// Packs a row-major k×n matrix into the 32-column panels [`gather_gemm`] reads, in `buf` (of
/// [`panels_len`] values).
///
/// # Errors
/// `Internal` when `b` or `buf` is smaller than the dimensions say.
pub(crate) fn pack_panels(b: &[f32], k: usize, n: usize, buf: &mut [f32]) -> Result<()> {
    if b.len() < k * n || buf.len() < panels_len(k, n) {
        return Err(Error::internal(format!("pack_panels: buffers do not fit a {k}x{n} matrix")));
    }
    #[cfg(target_arch = "x86_64")]
    // Safety: `b` holds the k×n row-major matrix (checked above) and `buf` the packed panels.
    unsafe {
        avx512::pack_b((b.as_ptr(), n as isize, 1), k, 0..n, buf);
    }
    Ok(())
}

/// Packs rows `rows` of a row-major matrix with `n` columns, in that order, as [`pack_panels`] packs a
/// whole matrix (the k of the packed matrix is `rows.len()`).
///
/// # Errors
/// `Internal` when a row lies outside `b` or `buf` is smaller than [`panels_len`].
pub(crate) fn pack_panels_gathered(b: &[f32], n: usize, rows: &[usize], buf: &mut [f32]) -> Result<()> {
    let k = rows.len();
    if buf.len() < panels_len(k, n) || rows.iter().any(|&r| (r + 1) * n > b.len()) {
        return Err(Error::internal(format!("pack_panels_gathered: {k} rows of {n} do not fit")));
    }
    for (jp, panel) in buf[..panels_len(k, n)].chunks_exact_mut(k * PANEL).enumerate() {
        let j0 = jp * PANEL;
        let width = PANEL.min(n - j0);
        for (dst, &r) in panel.chunks_exact_mut(PANEL).zip(rows) {
            dst[..width].copy_from_slice(&b[r * n + j0..][..width]);
            dst[width..].fill(0.0);
        }
    }
    Ok(())
}

/// Whether [`gather_gemm`] runs on this CPU.
pub(crate) fn gather_gemm_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx512::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `c (m×n, row-major) = a · b`, or `+=` when `accumulate`, on this thread, where A is read in place
/// through two offset tables: `a(i, p) = base[rows[i] + cols[p]]` (a convolution's im2col matrix, without
/// writing it out), and B comes packed by [`pack_panels`]. `row_depths[i] = (lo, hi)` says row `i` of A
/// is zero outside columns `lo..hi` (a window over the padding), and those products are skipped.
/// Returns false, touching nothing, when the CPU lacks AVX-512 (see [`gather_gemm_available`]).
///
/// # Errors
/// `Internal` when an offset or a buffer does not fit (a bug of the caller).
#[allow(clippy::too_many_arguments)] // a GEMM's shape: dimensions, operands and flags
pub(crate) fn gather_gemm(
    dims: (usize, usize, usize),
    c: &mut [f32],
    accumulate: bool,
    base: &[f32],
    rows: &[isize],
    cols: &[isize],
    row_depths: Option<&[(usize, usize)]>,
    packed: &[f32],
) -> Result<bool> {
    let (len, c) = (c.len(), c.as_mut_ptr());
    // Safety: `c` is a unique borrow of `len` initialized floats.
    unsafe { gather_into(dims, (c, len), accumulate, (base, rows, cols, row_depths), packed, None) }
}

/// What to do with whole rows of C once they are final, while they are still in cache (a fused
/// bias add and activation). It is given a multiple of `n` values.
pub(crate) type RowsEpilogue<'a> = &'a (dyn Fn(&mut [f32]) + Sync);

/// [`gather_gemm`] without `accumulate`, into memory that need not be initialized, then `epilogue` on
/// each block of finished rows: when it returns true, every element of `c[..m * n]` has been written.
///
/// # Errors
/// `Internal` when an offset or a buffer does not fit (a bug of the caller).
#[allow(clippy::too_many_arguments)] // a GEMM's shape: dimensions, operands and flags
pub(crate) fn gather_gemm_uninit(
    dims: (usize, usize, usize),
    c: &mut [MaybeUninit<f32>],
    base: &[f32],
    rows: &[isize],
    cols: &[isize],
    row_depths: Option<&[(usize, usize)]>,
    packed: &[f32],
    epilogue: Option<RowsEpilogue<'_>>,
) -> Result<bool> {
    let (len, c) = (c.len(), c.as_mut_ptr().cast::<f32>());
    let a = (base, rows, cols, row_depths);
    // Safety: `c` is a unique borrow of `len` floats; without `accumulate` none is read before it is
    // written.
    unsafe { gather_into(dims, (c, len), false, a, packed, epilogue) }
}

/// A gathered A operand: base values, row and column offsets, and per-row depth ranges.
type GatheredA<'a> = (&'a [f32], &'a [isize], &'a [isize], Option<&'a [(usize, usize)]>);

/// # Safety
/// `c.0` is valid for writes of `c.1` floats and overlaps nothing else; when `accumulate`, they are
/// initialized.
unsafe fn gather_into(
    (m, n, k): (usize, usize, usize),
    (c, c_len): (*mut f32, usize),
    accumulate: bool,
    (base, rows, cols, row_depths): GatheredA<'_>,
    packed: &[f32],
    epilogue: Option<RowsEpilogue<'_>>,
) -> Result<bool> {
    if !gather_gemm_available() {
        return Ok(false);
    }
    #[cfg(target_arch = "x86_64")]
    // Safety: AVX-512F is available (checked above).
    let fits = unsafe { avx512::offsets_fit(base.len(), rows, cols, row_depths.map(|d| (d, k))) };
    #[cfg(not(target_arch = "x86_64"))]
    let fits = false;
    if !fits
        || rows.len() != m
        || cols.len() != k
        || row_depths.is_some_and(|d| d.len() != m)
        || c_len < m * n
        || packed.len() < panels_len(k, n)
    {
        return Err(Error::internal(format!("gather_gemm: operands do not fit {m}x{k} · {k}x{n}")));
    }
    if m == 0 || n == 0 || k == 0 {
        if !accumulate {
            // Safety: `c` holds at least m * n floats (checked above); zero bits are 0.0.
            unsafe { std::ptr::write_bytes(c, 0, m * n) };
        }
        if let Some(f) = epilogue {
            // Safety: `c` holds m * n floats, initialized (the caller's contract, or zeroed above).
            f(unsafe { std::slice::from_raw_parts_mut(c, m * n) });
        }
        return Ok(true);
    }
    #[cfg(target_arch = "x86_64")]
    // Safety: AVX-512F is available (checked above); every a(i, p) = base[rows[i] + cols[p]] lies in
    // `base` because the smallest and largest offsets do; `packed` and `c` are big enough (checked
    // above) and `c` is exclusively ours (the caller's contract).
    unsafe {
        let a = (base.as_ptr(), rows, cols, row_depths);
        avx512::sgemm_gather((m, n, k), c, accumulate, a, packed.as_ptr(), epilogue);
    }
    Ok(true)
}

/// A single-precision GEMM with an 8×32 AVX-512 register tile.
///
/// A is read in place through its strides (broadcast one element at a time, so any layout works); B is
/// packed into 32-column panels. C is cut into row or column blocks, one rayon task per block; each
/// element's sum runs over k in the same order whatever the thread count, so results are deterministic.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use rayon::prelude::*;
    use std::arch::x86_64::*;

    /// Rows of the register tile: 16 accumulators, two B vectors and a broadcast fit the 32 vector
    /// registers. With 12 rows LLVM loads all 12 broadcasts ahead of the multiply-adds and spills
    /// accumulators to the stack (the conv products ran ~40% slower).
    const MR: usize = 8;
    /// Columns of the register tile (two 16-lane vectors).
    const NR: usize = 32;
    /// Depth of one pass: a 32-column panel of B, `KC` deep, is 32 KiB and stays in L1.
    const KC: usize = 256;
    /// Rows of A swept per B panel (a multiple of MR): 192 rows × KC stay in L2.
    const MC: usize = 192;

    thread_local! {
        /// Each thread's packed-B buffer, kept between calls so packing does not allocate every step.
        static PACKED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }

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
        // Split C among tasks by row tiles, or by column panels when there are too few row tiles to
        // balance (the MLP's 128-row products).
        let panels = n.div_ceil(NR);
        let tiles = m.div_ceil(MR);
        let by_rows = tiles >= 4 * threads || panels < threads;
        let units = if by_rows { tiles } else { panels };
        let tasks = threads.clamp(1, units);
        let per = units.div_ceil(tasks);
        let (cp, ap, bp) = (SendPtr(c), SendPtr(a.0), SendPtr(b));
        let run = |t: usize| {
            let (cp, ap, bp) = (cp, ap, bp);
            let (rows, cols) = if by_rows {
                ((t * per * MR).min(m)..((t + 1) * per * MR).min(m), 0..n)
            } else {
                (0..m, (t * per * NR).min(n)..((t + 1) * per * NR).min(n))
            };
            if rows.is_empty() || cols.is_empty() {
                return;
            }
            PACKED.with(|cell| {
                let mut fresh = Vec::new();
                let mut guard = cell.try_borrow_mut();
                // Another gemm on this thread (rayon runs stolen jobs while a caller waits) may hold the
                // cached buffer: then this one packs into its own.
                let buf: &mut Vec<f32> = match guard.as_deref_mut() {
                    Ok(cached) => cached,
                    Err(_) => &mut fresh,
                };
                let len = cols.len().div_ceil(NR) * k * NR;
                if buf.len() < len {
                    buf.resize(len, 0.0);
                }
                // Safety: `bp` addresses the k×n matrix the caller described; `cols` lies inside it.
                let packed = unsafe { pack_b(bp.0, k, cols.clone(), buf) };
                // Safety: the task's block is inside C and disjoint from other tasks'; `packed` holds the
                // block's panels; the rest is the caller's contract.
                unsafe { block(rows, cols, k, cp.0, ldc, accumulate, (ap.0, a.1, a.2), packed.as_ptr()) };
            });
        };
        if tasks > 1 {
            (0..tasks).into_par_iter().for_each(run);
        } else {
            run(0);
        }
    }

    /// Packs columns `cols` (starting at a panel boundary) of B into 32-column panels, each `k` rows of
    /// 32 contiguous floats, zero-padded past the last column. Read in place, a panel's rows sit a
    /// power-of-two stride apart (n = 64, 256) and fall into a few L1 sets, evicting each other instead
    /// of staying in cache across the row tiles that reuse them. Each task packs the panels it uses, so a
    /// product has one parallel region, not two.
    pub(super) unsafe fn pack_b(
        b: (*const f32, isize, isize),
        k: usize,
        cols: std::ops::Range<usize>,
        buf: &mut [f32],
    ) -> &[f32] {
        let len = cols.len().div_ceil(NR) * k * NR;
        let (b0, b_rs, b_cs) = b;
        for (jp, panel) in buf[..len].chunks_exact_mut(k * NR).enumerate() {
            let j0 = cols.start + jp * NR;
            let width = NR.min(cols.end - j0);
            for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                let src = b0.offset(p as isize * b_rs + j0 as isize * b_cs);
                if b_cs == 1 {
                    // Safety: row p, columns j0..j0 + width are inside B.
                    row[..width].copy_from_slice(unsafe { std::slice::from_raw_parts(src, width) });
                } else {
                    for (j, v) in row[..width].iter_mut().enumerate() {
                        // Safety: as above, one element at a time.
                        *v = unsafe { *src.offset(j as isize * b_cs) };
                    }
                }
                row[width..].fill(0.0);
            }
        }
        &buf[..len]
    }

    /// Rows `rows` and columns `cols` (starting at a panel boundary) of C, from packed B panels.
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
        k: usize,
        c: *mut f32,
        ldc: isize,
        accumulate: bool,
        a: (*const f32, isize, isize),
        packed: *const f32,
    ) {
        let depth = pass_depth(k);
        let mut pc = 0;
        while pc < k {
            let kc = depth.min(k - pc);
            let acc = accumulate || pc > 0;
            let mut ic = rows.start;
            while ic < rows.end {
                let mc = MC.min(rows.end - ic);
                let mut jc = cols.start;
                while jc < cols.end {
                    let (m0, m1) = masks(NR.min(cols.end - jc));
                    let bj = packed.add((((jc - cols.start) / NR) * k + pc) * NR);
                    let mut ir = ic;
                    while ir < ic + mc {
                        let mr = MR.min(ic + mc - ir);
                        let ai = a.0.offset(ir as isize * a.1 + pc as isize * a.2);
                        let mut rows = [ai; MR];
                        for (i, r) in rows.iter_mut().enumerate().take(mr) {
                            *r = ai.offset(i as isize * a.1);
                        }
                        let ci = c.offset(ir as isize * ldc + jc as isize);
                        // Safety: the tile lies inside the matrices (mr, nr and kc are clipped to them).
                        unsafe { kernel(kc, &rows, Stride(a.2), mr, bj, m0, m1, ci, ldc, acc) };
                        ir += MR;
                    }
                    jc += NR;
                }
                ic += mc;
            }
            pc += kc;
        }
    }

    /// The depth of each pass over k: at most [`KC`], in passes of equal depth, so no short last pass
    /// pays a full load and store of C for a few multiply-adds (k = 800 runs 4 × 200, not 3 × 256 + 32).
    fn pass_depth(k: usize) -> usize {
        k.div_ceil(k.div_ceil(KC).max(1)).max(1)
    }

    /// Where column `p` of A lies relative to the start of a row: a constant stride for a strided
    /// matrix, a table for the im2col matrix a convolution reads in place.
    pub(super) trait AColumns: Copy {
        /// The offset, in elements, of column `p` from the start of a row.
        ///
        /// # Safety
        /// `p` must be a column of the block the value was made for.
        unsafe fn offset(self, p: isize) -> isize;
    }

    /// Columns `stride` elements apart.
    #[derive(Clone, Copy)]
    pub(super) struct Stride(pub(super) isize);

    impl AColumns for Stride {
        #[inline(always)]
        unsafe fn offset(self, p: isize) -> isize {
            p * self.0
        }
    }

    /// Column `p` at `table[p]`.
    #[derive(Clone, Copy)]
    pub(super) struct Offsets(pub(super) *const isize);

    impl AColumns for Offsets {
        #[inline(always)]
        unsafe fn offset(self, p: isize) -> isize {
            // Safety: the caller's contract: `p` indexes the block's part of the table.
            unsafe { *self.0.offset(p) }
        }
    }

    /// One MR×32 tile of C over `kc` steps of k, with A's row `i` starting at `rows[i]` (rows past `mr`
    /// repeat a valid row and are not stored). Columns past the masks are neither loaded nor stored (so
    /// the second vector's address may lie past the end when the tile is at most 16 wide: hence
    /// `wrapping_add`).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel<A: AColumns>(
        kc: usize,
        rows: &[*const f32; MR],
        cols: A,
        mr: usize,
        b: *const f32,
        m0: u16,
        m1: u16,
        c: *mut f32,
        ldc: isize,
        accumulate: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        for p in 0..kc as isize {
            let bp = b.offset(p * NR as isize);
            let b0 = _mm512_maskz_loadu_ps(m0, bp);
            let b1 = _mm512_maskz_loadu_ps(m1, bp.wrapping_add(16));
            let off = cols.offset(p);
            for i in 0..MR {
                let av = _mm512_set1_ps(*rows[i].offset(off));
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

    /// Whether every `base[rows[i] + cols[p]]` lies in a buffer of `base_len` values and every depth
    /// range `(lo, hi)` has `lo <= hi <= k`. Compiled for AVX-512, where 64-bit minimum and maximum are
    /// single instructions: the baseline build emulated them, and these scans took half of
    /// `gather_gemm`'s time outside the microkernel.
    ///
    /// # Safety
    /// Requires AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn offsets_fit(
        base_len: usize,
        rows: &[isize],
        cols: &[isize],
        depths: Option<(&[(usize, usize)], usize)>,
    ) -> bool {
        // With no rows or no columns, A is not read at all.
        let inside = rows.is_empty() || cols.is_empty() || {
            let ((rlo, rhi), (clo, chi)) = (span(rows), span(cols));
            let (lo, hi) = (rlo.checked_add(clo), rhi.checked_add(chi));
            lo.is_some_and(|lo| lo >= 0)
                && hi.and_then(|hi| usize::try_from(hi).ok()).is_some_and(|hi| hi < base_len)
        };
        let depths_fit = match depths {
            Some((d, k)) => {
                // Branch-free over the whole table, so it vectorizes.
                let mut bad = false;
                for &(lo, hi) in d {
                    bad |= (lo > hi) | (hi > k);
                }
                !bad
            }
            None => true,
        };
        inside && depths_fit
    }

    /// The smallest and largest offset, in a plain loop: an iterator adaptor here was compiled apart
    /// for the baseline CPU instead of with its AVX-512 caller.
    #[target_feature(enable = "avx512f")]
    fn span(offsets: &[isize]) -> (isize, isize) {
        let (mut lo, mut hi) = (isize::MAX, isize::MIN);
        for &v in offsets {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo, hi)
    }

    /// The load masks of the two vectors of a tile `nr` columns wide.
    fn masks(nr: usize) -> (u16, u16) {
        let mask = |from: usize| -> u16 {
            let w = nr.saturating_sub(from).min(16);
            if w == 16 {
                u16::MAX
            } else {
                (1u16 << w) - 1
            }
        };
        (mask(0), mask(16))
    }

    /// A gathered A operand with its base as a pointer: base, row and column offsets, depth ranges.
    type GatheredRaw<'a> = (*const f32, &'a [isize], &'a [isize], Option<&'a [(usize, usize)]>);

    /// `c (m×n, row-major) = a · b`, or `+=` when `accumulate`, on this thread, where
    /// `a(i, p) = base[row_offsets[i] + col_offsets[p]]` and `b` is packed by [`pack_b`] (n columns,
    /// k rows); then `epilogue` on each block of rows as the last pass over k finishes it.
    ///
    /// # Safety
    /// Requires AVX-512F. `row_offsets` has m entries and `col_offsets` k; every `a(i, p)` lies inside
    /// `base`'s allocation; `packed` holds `n.div_ceil(32) * k * 32` values; `c` is valid for an m×n
    /// matrix and overlaps nothing else.
    pub(super) unsafe fn sgemm_gather(
        (m, n, k): (usize, usize, usize),
        c: *mut f32,
        accumulate: bool,
        (base, row_offsets, col_offsets, row_depths): GatheredRaw<'_>,
        packed: *const f32,
        epilogue: Option<super::RowsEpilogue<'_>>,
    ) {
        let ldc = n as isize;
        let depth = pass_depth(k);
        let mut pc = 0;
        while pc < k {
            let kc = depth.min(k - pc);
            let mut ic = 0;
            while ic < m {
                let mc = MC.min(m - ic);
                let mut jc = 0;
                while jc < n {
                    let (m0, m1) = masks(NR.min(n - jc));
                    let mut ir = ic;
                    while ir < ic + mc {
                        let mr = MR.min(ic + mc - ir);
                        // The tile's rows need k in `lo..hi` only (their other entries of A are zeros).
                        let (lo, hi) = row_depths.map_or((0, k), |d| {
                            d[ir..ir + mr].iter().fold((k, 0), |(lo, hi), &(a, b)| (lo.min(a), hi.max(b)))
                        });
                        let (from, to) = (lo.max(pc), hi.min(pc + kc));
                        let ci = c.offset(ir as isize * ldc + jc as isize);
                        if from < to {
                            let first = base.offset(row_offsets[ir]);
                            let mut rows = [first; MR];
                            for (i, r) in rows.iter_mut().enumerate().take(mr).skip(1) {
                                *r = base.offset(row_offsets[ir + i]);
                            }
                            let cols = Offsets(col_offsets.as_ptr().add(from));
                            let bj = packed.add(((jc / NR) * k + from) * NR);
                            // The first pass that reaches the tile writes it, later ones add to it.
                            let acc = accumulate || from > lo;
                            // Safety: the tile lies inside C and the operands (the caller's contract).
                            unsafe { kernel(to - from, &rows, cols, mr, bj, m0, m1, ci, ldc, acc) };
                        } else if lo >= hi && pc == 0 && !accumulate {
                            for i in 0..mr {
                                let row = ci.offset(i as isize * ldc);
                                _mm512_mask_storeu_ps(row, m0, _mm512_setzero_ps());
                                _mm512_mask_storeu_ps(row.wrapping_add(16), m1, _mm512_setzero_ps());
                            }
                        }
                        ir += MR;
                    }
                    jc += NR;
                }
                if let (Some(f), true) = (epilogue, pc + kc >= k) {
                    // Safety: rows `ic..ic + mc` lie in C and this last pass has written all of them.
                    f(unsafe { std::slice::from_raw_parts_mut(c.offset(ic as isize * ldc), mc * n) });
                }
                ic += mc;
            }
            pc += kc;
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
