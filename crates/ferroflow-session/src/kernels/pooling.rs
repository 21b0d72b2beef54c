//! Max and average pooling over NHWC images and their gradients, parallel over the batch with rayon.
#![allow(unsafe_code)] // one `set_len` after the 2x2 max-pool gradient has written every element

use std::mem::MaybeUninit;

use super::math::Arith;
use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{DType, Error, Result, Shape, Tensor, TensorElement};
use ferroflow_graph::ops::conv_ops::{conv_attrs, pool_ksize, windowed_output_size, Padding};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("MaxPool", max_pool),
    ("MaxPoolGrad", max_pool_grad),
    ("AvgPool", avg_pool),
    ("AvgPoolGrad", avg_pool_grad),
];

/// Images below this many elements are pooled on one thread: rayon's hand-off costs more.
const PARALLEL_ELEMENTS: usize = 1 << 14;

/// The geometry of one pooling, validated once.
#[derive(Debug, Clone, Copy)]
struct PoolGeom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    oh: usize,
    ow: usize,
    pad_top: usize,
    pad_left: usize,
}

impl PoolGeom {
    fn new(
        shape: &[usize],
        ksize: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        what: &str,
    ) -> Result<Self> {
        let &[n, h, w, c] = shape else {
            return Err(Error::invalid_argument(format!(
                "{what}: input must be 4-D (NHWC), got {}",
                Shape::from(shape)
            )));
        };
        let (oh, pad_top) =
            windowed_output_size(h, ksize[0], strides[0], 1, padding).map_err(|e| e.context(what))?;
        let (ow, pad_left) =
            windowed_output_size(w, ksize[1], strides[1], 1, padding).map_err(|e| e.context(what))?;
        Ok(PoolGeom {
            n,
            h,
            w,
            c,
            kh: ksize[0],
            kw: ksize[1],
            sh: strides[0],
            sw: strides[1],
            oh,
            ow,
            pad_top,
            pad_left,
        })
    }

    fn image_len(&self) -> usize {
        self.h * self.w * self.c
    }

    fn out_len(&self) -> usize {
        self.oh * self.ow * self.c
    }

    /// The input rows and columns of output `(oy, ox)`'s window, clipped to the image.
    fn window(&self, oy: usize, ox: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let y0 = (oy * self.sh).saturating_sub(self.pad_top);
        let y1 = (oy * self.sh + self.kh).saturating_sub(self.pad_top).min(self.h);
        let x0 = (ox * self.sw).saturating_sub(self.pad_left);
        let x1 = (ox * self.sw + self.kw).saturating_sub(self.pad_left).min(self.w);
        (y0..y1, x0..x1)
    }

    /// Whether the windows are 2x2 with stride 2, unpadded, and cover the image exactly (even sizes),
    /// the case `max_pool_grad_2x2` handles.
    fn tiles_2x2(&self) -> bool {
        (self.kh, self.kw, self.sh, self.sw, self.pad_top, self.pad_left) == (2, 2, 2, 2, 0, 0)
            && self.h == 2 * self.oh
            && self.w == 2 * self.ow
    }

    fn parallel(&self, threads: usize) -> bool {
        threads > 1 && self.n > 1 && self.n * self.image_len() >= PARALLEL_ELEMENTS
    }
}

/// Runs `f(image_index, out_chunk)` over the output split per image, in parallel when it pays.
fn per_image<T: Send>(
    out: &mut [T],
    chunk: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if chunk == 0 {
        return;
    }
    if parallel {
        out.par_chunks_mut(chunk).enumerate().for_each(|(b, o)| f(b, o));
    } else {
        out.chunks_mut(chunk).enumerate().for_each(|(b, o)| f(b, o));
    }
}

fn contiguous<T: TensorElement + Copy>(t: &Tensor) -> Result<std::borrow::Cow<'_, [T]>> {
    let a = t.array::<T>()?;
    Ok(match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        // `as_standard_layout` copies in one pass in memory order, far faster than an element iterator.
        None => std::borrow::Cow::Owned(a.as_standard_layout().into_owned().into_raw_vec_and_offset().0),
    })
}

fn max_pool_typed<T: Arith>(x: &Tensor, g: &PoolGeom, threads: usize) -> Result<Tensor> {
    let xs = contiguous::<T>(x)?;
    let mut out = vec![T::default(); g.n * g.out_len()];
    if g.tiles_2x2() {
        per_image(&mut out, g.out_len(), g.parallel(threads), |b, o| {
            max_pool_2x2_dispatch(&xs[b * g.image_len()..][..g.image_len()], o, g);
        });
        return Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(&[g.n, g.oh, g.ow, g.c]), out)?));
    }
    per_image(&mut out, g.out_len(), g.parallel(threads), |b, o| {
        let img = &xs[b * g.image_len()..][..g.image_len()];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let dst = &mut o[(oy * g.ow + ox) * g.c..][..g.c];
                dst.fill(T::lowest());
                let (ys, xr) = g.window(oy, ox);
                for y in ys {
                    for x in xr.clone() {
                        // A select rather than a branch, so the loop over channels vectorizes.
                        for (d, &v) in dst.iter_mut().zip(&img[(y * g.w + x) * g.c..][..g.c]) {
                            *d = if v > *d || v.is_nan() { v } else { *d };
                        }
                    }
                }
            }
        }
    });
    Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(&[g.n, g.oh, g.ow, g.c]), out)?))
}

/// Routes each output gradient to the first maximum of its window (row-major scan), as TF's CPU kernel.
/// With `relu`, also `ReluGrad` by the pooled input: a gradient whose window's maximum is not positive
/// becomes zero. The maximum is the value at the position the gradient goes to, so this is exactly
/// `ReluGrad(MaxPoolGrad(y, ...), y)` without a pass over the input-sized gradient.
fn max_pool_grad_typed<T: Arith>(
    x: &Tensor,
    dy: &Tensor,
    g: &PoolGeom,
    relu: bool,
    threads: usize,
) -> Result<Tensor> {
    let xs = contiguous::<T>(x)?;
    let dys = contiguous::<T>(dy)?;
    if g.tiles_2x2() {
        // Not zero-filled first: each element is written exactly once below, and zeroing 6 MB (the
        // reference CNN's first pooling) cost a third of the kernel.
        let len = g.n * g.image_len();
        let mut dx: Vec<T> = Vec::with_capacity(len);
        per_image(&mut dx.spare_capacity_mut()[..len], g.image_len(), g.parallel(threads), |b, d| {
            let img = &xs[b * g.image_len()..][..g.image_len()];
            let grad = &dys[b * g.out_len()..][..g.out_len()];
            if relu {
                max_pool_grad_2x2_dispatch::<T, true>(img, grad, d, g);
            } else {
                max_pool_grad_2x2_dispatch::<T, false>(img, grad, d, g);
            }
        });
        // Safety: the windows tile every image exactly (`tiles_2x2`), and `max_pool_grad_2x2` writes
        // all four positions of every window, so all `len` elements are initialized.
        unsafe { dx.set_len(len) };
        return Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(&[g.n, g.h, g.w, g.c]), dx)?));
    }
    let mut dx = vec![T::default(); g.n * g.image_len()];
    per_image(&mut dx, g.image_len(), g.parallel(threads), |b, d| {
        let img = &xs[b * g.image_len()..][..g.image_len()];
        let grad = &dys[b * g.out_len()..][..g.out_len()];
        // Two branch-free passes per window, each over contiguous channels so they vectorize: the
        // window's maximum per channel (NaN wins, as in the forward pass), then the gradient goes to the
        // first position holding it (`done` keeps later ties from taking it again).
        let mut best = vec![T::lowest(); g.c];
        let mut done = vec![false; g.c];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (ys, xr) = g.window(oy, ox);
                best.fill(T::lowest());
                for y in ys.clone() {
                    for x in xr.clone() {
                        for (b, &v) in best.iter_mut().zip(&img[(y * g.w + x) * g.c..][..g.c]) {
                            *b = if v > *b || v.is_nan() { v } else { *b };
                        }
                    }
                }
                done.fill(false);
                let src = &grad[(oy * g.ow + ox) * g.c..][..g.c];
                for y in ys {
                    for x in xr.clone() {
                        let base = (y * g.w + x) * g.c;
                        let row = img[base..][..g.c].iter().zip(&best).zip(src);
                        for ((dst, done), ((&v, &b), &s)) in
                            d[base..][..g.c].iter_mut().zip(&mut done).zip(row)
                        {
                            let hit = !*done && (v == b || (v.is_nan() && b.is_nan()));
                            let passes = hit && (!relu || b > T::default());
                            *dst = dst.add(if passes { s } else { T::default() });
                            *done |= hit;
                        }
                    }
                }
            }
        }
    });
    Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(&[g.n, g.h, g.w, g.c]), dx)?))
}

/// `max_pool_typed` for one image when the windows are 2x2 with stride 2 and tile it exactly: one
/// branch-free pass per output row over two input rows, without the general path's per-window range
/// arithmetic and fills, so the channel loop vectorizes. Same result as the general path.
#[inline(always)]
fn max_pool_2x2<T: Arith>(img: &[T], out: &mut [T], g: &PoolGeom) {
    let (c, row) = (g.c, g.w * g.c);
    for (src, dst) in img.chunks_exact(2 * row).zip(out.chunks_exact_mut(g.ow * c)) {
        let (r0, r1) = src.split_at(row);
        let cells = r0.chunks_exact(2 * c).zip(r1.chunks_exact(2 * c));
        for ((a0, a1), d) in cells.zip(dst.chunks_exact_mut(c)) {
            let (p, q) = (&a0[..c], &a0[c..2 * c]);
            let (r, t) = (&a1[..c], &a1[c..2 * c]);
            let d = &mut d[..c];
            for i in 0..c {
                let mut m = T::lowest();
                for v in [p[i], q[i], r[i], t[i]] {
                    m = if (v > m) | v.is_nan() { v } else { m };
                }
                d[i] = m;
            }
        }
    }
}

/// Whether the CPU runs the AVX-512 builds of the 2x2 pooling loops below. The crate targets baseline
/// x86-64 (SSE2), where their compare-and-select channel loops stay scalar; compiled for AVX-512, with
/// its masks, LLVM vectorizes them 16 lanes wide (the reference CNN's first pooling gradient: 1.34 ->
/// 0.66 ms on one thread).
fn wide_simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`max_pool_2x2`], compiled for AVX-512 where [`wide_simd`].
fn max_pool_2x2_dispatch<T: Arith>(img: &[T], out: &mut [T], g: &PoolGeom) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        unsafe fn wide<T: Arith>(img: &[T], out: &mut [T], g: &PoolGeom) {
            max_pool_2x2(img, out, g);
        }
        if wide_simd() {
            // Safety: the CPU has the features `wide` was compiled for.
            unsafe { wide(img, out, g) };
            return;
        }
    }
    max_pool_2x2(img, out, g);
}

/// [`max_pool_grad_2x2`], compiled for AVX-512 where [`wide_simd`].
fn max_pool_grad_2x2_dispatch<T: Arith, const RELU: bool>(
    img: &[T],
    grad: &[T],
    d: &mut [MaybeUninit<T>],
    g: &PoolGeom,
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        unsafe fn wide<T: Arith, const RELU: bool>(
            img: &[T],
            grad: &[T],
            d: &mut [MaybeUninit<T>],
            g: &PoolGeom,
        ) {
            max_pool_grad_2x2::<T, RELU>(img, grad, d, g);
        }
        if wide_simd() {
            // Safety: the CPU has the features `wide` was compiled for.
            unsafe { wide::<T, RELU>(img, grad, d, g) };
            return;
        }
    }
    max_pool_grad_2x2::<T, RELU>(img, grad, d, g);
}

/// `max_pool_grad_typed` for one image when the windows are 2x2 with stride 2 and tile it exactly:
/// every input position lies in exactly one window, so each `dx` element is written once (no add into
/// zeros) and the per-window bookkeeping of the general path (`best`/`done` buffers, window ranges)
/// goes away. That bookkeeping, not memory traffic, dominated the general path on 32-64 channels.
/// Same semantics: the first maximum in row-major window order (NaN counts as the maximum) gets it.
#[inline(always)]
fn max_pool_grad_2x2<T: Arith, const RELU: bool>(
    img: &[T],
    grad: &[T],
    d: &mut [MaybeUninit<T>],
    g: &PoolGeom,
) {
    let (c, row) = (g.c, g.w * g.c);
    // Non-short-circuit `|`/`&` throughout: `||` and `&&` compile to branches here, which keeps the
    // channel loop scalar.
    let same = |v: T, m: T| (v == m) | (v.is_nan() & m.is_nan());
    let rows = img.chunks_exact(2 * row).zip(d.chunks_exact_mut(2 * row)).zip(grad.chunks_exact(g.ow * c));
    for ((src, dst), gy) in rows {
        let (r0, r1) = src.split_at(row);
        let (d0, d1) = dst.split_at_mut(row);
        let cells = r0.chunks_exact(2 * c).zip(r1.chunks_exact(2 * c));
        let outs = d0.chunks_exact_mut(2 * c).zip(d1.chunks_exact_mut(2 * c));
        for (((a0, a1), (o0, o1)), s) in cells.zip(outs).zip(gy.chunks_exact(c)) {
            // Re-slicing everything to `c` lets the compiler drop the bounds checks and vectorize.
            let (p, q) = (&a0[..c], &a0[c..2 * c]);
            let (r, t) = (&a1[..c], &a1[c..2 * c]);
            let (op, oq) = o0.split_at_mut(c);
            let (or, ot) = o1.split_at_mut(c);
            let (oq, or, ot, s) = (&mut oq[..c], &mut or[..c], &mut ot[..c], &s[..c]);
            for i in 0..c {
                // From `lowest` as the general path, so both agree on windows holding it.
                let mut m = T::lowest();
                for v in [p[i], q[i], r[i], t[i]] {
                    m = if (v > m) | v.is_nan() { v } else { m };
                }
                let hp = same(p[i], m);
                let hq = same(q[i], m) & !hp;
                let hr = same(r[i], m) & !(hp | hq);
                let ht = same(t[i], m) & !(hp | hq | hr);
                let zero = T::default();
                let g = if !RELU | (m > zero) { s[i] } else { zero };
                op[i] = MaybeUninit::new(if hp { g } else { zero });
                oq[i] = MaybeUninit::new(if hq { g } else { zero });
                or[i] = MaybeUninit::new(if hr { g } else { zero });
                ot[i] = MaybeUninit::new(if ht { g } else { zero });
            }
        }
    }
}

fn avg_pool_typed<T: Arith>(x: &Tensor, g: &PoolGeom, threads: usize) -> Result<Tensor> {
    let xs = contiguous::<T>(x)?;
    let mut out = vec![T::default(); g.n * g.out_len()];
    per_image(&mut out, g.out_len(), g.parallel(threads), |b, o| {
        let img = &xs[b * g.image_len()..][..g.image_len()];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let dst = &mut o[(oy * g.ow + ox) * g.c..][..g.c];
                let (ys, xr) = g.window(oy, ox);
                let count = T::from_usize((ys.len() * xr.len()).max(1));
                for y in ys {
                    for x in xr.clone() {
                        for (d, &v) in dst.iter_mut().zip(&img[(y * g.w + x) * g.c..][..g.c]) {
                            *d = d.add(v);
                        }
                    }
                }
                for d in dst.iter_mut() {
                    *d = d.div(count);
                }
            }
        }
    });
    Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(&[g.n, g.oh, g.ow, g.c]), out)?))
}

fn avg_pool_grad_typed<T: Arith>(dy: &Tensor, g: &PoolGeom, threads: usize) -> Result<Tensor> {
    let dys = contiguous::<T>(dy)?;
    let mut dx = vec![T::default(); g.n * g.image_len()];
    per_image(&mut dx, g.image_len(), g.parallel(threads), |b, d| {
        let grad = &dys[b * g.out_len()..][..g.out_len()];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (ys, xr) = g.window(oy, ox);
                let count = T::from_usize((ys.len() * xr.len()).max(1));
                let src = &grad[(oy * g.ow + ox) * g.c..][..g.c];
                for y in ys {
                    for x in xr.clone() {
                        for (dst, &s) in d[(y * g.w + x) * g.c..][..g.c].iter_mut().zip(src) {
                            *dst = dst.add(s.div(count));
                        }
                    }
                }
            }
        }
    });
    Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(&[g.n, g.h, g.w, g.c]), dx)?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PoolOp {
    Max,
    MaxGrad,
    /// `MaxPoolGrad` followed by `ReluGrad` by the pooled input, fused by the remapper.
    MaxGradRelu,
    Avg,
    AvgGrad,
}

struct PoolKernel {
    op: PoolOp,
    ksize: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    name: String,
}

impl PoolKernel {
    fn run<T: Arith>(&self, ctx: &OpKernelContext<'_>) -> Result<Tensor> {
        let geom = |shape: &[usize]| PoolGeom::new(shape, self.ksize, self.strides, self.padding, &self.name);
        match self.op {
            PoolOp::Max => max_pool_typed::<T>(ctx.input(0)?, &geom(ctx.input(0)?.shape())?, ctx.threads),
            PoolOp::Avg => avg_pool_typed::<T>(ctx.input(0)?, &geom(ctx.input(0)?.shape())?, ctx.threads),
            PoolOp::MaxGrad | PoolOp::MaxGradRelu => {
                let (x, dy) = (ctx.input(0)?, ctx.input(2)?);
                let g = geom(x.shape())?;
                check_grad_shape(&g, dy, &self.name)?;
                max_pool_grad_typed::<T>(x, dy, &g, self.op == PoolOp::MaxGradRelu, ctx.threads)
            }
            PoolOp::AvgGrad => {
                let shape: Vec<usize> = super::int_values(ctx.input(0)?, "orig_input_shape")?
                    .into_iter()
                    .map(|d| {
                        usize::try_from(d)
                            .map_err(|_| Error::invalid_argument("orig_input_shape is negative"))
                    })
                    .collect::<Result<_>>()?;
                let dy = ctx.input(1)?;
                let g = geom(&shape)?;
                check_grad_shape(&g, dy, &self.name)?;
                avg_pool_grad_typed::<T>(dy, &g, ctx.threads)
            }
        }
    }
}

fn check_grad_shape(g: &PoolGeom, dy: &Tensor, name: &str) -> Result<()> {
    let expected = [g.n, g.oh, g.ow, g.c];
    if dy.shape() != expected {
        return Err(Error::invalid_argument(format!(
            "{name}: gradient has shape {}, expected {}",
            Shape::from(dy.shape()),
            Shape::from(&expected[..])
        )));
    }
    Ok(())
}

impl OpKernel for PoolKernel {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let probe = if self.op == PoolOp::AvgGrad { 1 } else { 0 };
        let out = match ctx.input(probe)?.dtype() {
            DType::F32 => self.run::<f32>(ctx),
            DType::F64 => self.run::<f64>(ctx),
            d => Err(Error::invalid_argument(format!("pooling does not support {d}"))),
        }
        .map_err(|e| e.context(format!("node '{}'", self.name)))?;
        ctx.output(out);
        Ok(())
    }
}

fn make(init: &KernelInit<'_>, op: PoolOp) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(pool_kernel(init.node, op)?))
}

fn pool_kernel(node: &ferroflow_graph::Node, op: PoolOp) -> Result<PoolKernel> {
    let attrs = &node.attrs;
    let opts = conv_attrs(attrs)?;
    Ok(PoolKernel {
        op,
        ksize: pool_ksize(attrs)?,
        strides: opts.strides,
        padding: opts.padding,
        name: node.name.clone(),
    })
}

/// The kernel of a `MaxPoolGrad` node fused with the `ReluGrad` that reads its output and its first
/// input (the pooled activation): the gradient of `max_pool(relu(..))` in one pass.
///
/// # Errors
/// `InvalidArgument` for a node without pooling attributes.
pub(crate) fn max_pool_grad_relu(node: &ferroflow_graph::Node) -> Result<std::sync::Arc<dyn OpKernel>> {
    Ok(std::sync::Arc::new(pool_kernel(node, PoolOp::MaxGradRelu)?))
}

fn max_pool(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, PoolOp::Max)
}

fn max_pool_grad(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, PoolOp::MaxGrad)
}

fn avg_pool(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, PoolOp::Avg)
}

fn avg_pool_grad(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, PoolOp::AvgGrad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(h: usize, w: usize, c: usize) -> Result<PoolGeom> {
        PoolGeom::new(&[1, h, w, c], [2, 2], [2, 2], Padding::Valid, "test")
    }

    /// The 2x2 fast paths against the general per-window code on ties, NaN and -inf windows.
    #[test]
    fn two_by_two_matches_general_path() -> Result<()> {
        let g = geom(2, 4, 3)?;
        assert!(g.tiles_2x2());
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        // Channel 0: ties (first in row-major order wins), also in an all -inf window (the floats'
        // `lowest` is -inf); channel 1: a NaN in the second position; channel 2: a plain maximum last.
        #[rustfmt::skip]
        let x = vec![
            1.0, 0.0, 5.0,   1.0, nan, 6.0,   -inf, 0.0, 0.0,   -inf, 1.0, 0.0,
            1.0, 2.0, 7.0,   0.5, 3.0, 8.0,   -inf, 2.0, 0.0,   -inf, 1.0, 9.0,
        ];
        let dy: Vec<f32> = (1..=6).map(|v| v as f32).collect();
        let (xt, dyt) = (Tensor::from_vec(&[1, 2, 4, 3], x)?, Tensor::from_vec(&[1, 1, 2, 3], dy)?);
        let out = max_pool_typed::<f32>(&xt, &g, 1)?;
        let pooled = out.array::<f32>()?.iter().copied().collect::<Vec<_>>();
        assert_eq!(pooled[0], 1.0);
        assert!(pooled[1].is_nan());
        assert_eq!(&pooled[2..], &[8.0, -inf, 2.0, 9.0]);
        let dx = max_pool_grad_typed::<f32>(&xt, &dyt, &g, false, 1)?;
        let dx = dx.array::<f32>()?.iter().copied().collect::<Vec<_>>();
        #[rustfmt::skip]
        let expected = [
            1.0, 0.0, 0.0,   0.0, 2.0, 0.0,   4.0, 0.0, 0.0,   0.0, 0.0, 0.0,
            0.0, 0.0, 0.0,   0.0, 0.0, 3.0,   0.0, 5.0, 0.0,   0.0, 0.0, 6.0,
        ];
        assert_eq!(dx, expected);
        Ok(())
    }
}
