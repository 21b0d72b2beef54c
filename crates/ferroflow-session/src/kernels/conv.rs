//! 2-D convolutions (NHWC input, HWIO filter): `Conv2D` and its two backprops, in f32 on AVX-512 CPUs
//! as GEMMs that read the input in place (`implicit_gemm`), otherwise through im2col + `gemm`; and the
//! depthwise family with direct loops.
//!
//! The batch is cut into chunks of a few images, so the im2col matrix of a chunk stays in cache; chunks
//! run on rayon with one single-threaded `gemm` each, and their scratch buffers are kept by the kernel
//! and reused from step to step.
#![allow(unsafe_code)]

mod implicit_gemm;

use super::math::Arith;
use super::matmul::GemmElement;
use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{DType, Error, Result, Shape, Tensor, TensorElement};
use ferroflow_graph::ops::conv_ops::{conv_attrs, windowed_output_size, Conv2DOptions};
use ferroflow_graph::Node;
use ndarray::{ArrayD, IxDyn};
use parking_lot::Mutex;
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::Arc;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("Conv2D", conv2d),
    ("Conv2DBackpropInput", conv2d_backprop_input),
    ("Conv2DBackpropFilter", conv2d_backprop_filter),
    ("DepthwiseConv2dNative", depthwise),
    ("DepthwiseConv2dNativeBackpropInput", depthwise_backprop_input),
    ("DepthwiseConv2dNativeBackpropFilter", depthwise_backprop_filter),
];

/// Elements of an im2col chunk aimed for (512 KiB of f32): the chunk is written by im2col and read back
/// by the product right away, so it should stay in a core's L2 (1 MiB on the dev machine) rather than
/// make a round trip through L3; the AVX-512 GEMM packs its own B panels, so short chunks cost it
/// little. At least one image per chunk.
const CHUNK_ELEMENTS: usize = 1 << 17;

/// Runs of im2col up to this long are copied as this many elements at once (see `im2col`).
const SHORT_RUN: usize = 8;

/// An element type the convolution kernels compute in.
pub trait ConvElement: GemmElement + Arith {
    /// The scratch buffers of this type in a pool.
    fn buffers(pool: &ScratchPool) -> &Mutex<Vec<Vec<Self>>>;
    /// The values as `f32`, when that is the type (the implicit-GEMM path is single precision).
    fn as_f32(values: &[Self]) -> Option<&[f32]>;
    /// As [`ConvElement::as_f32`], writable.
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]>;
    /// As [`ConvElement::as_f32_mut`], for memory not yet written.
    fn as_f32_uninit(values: &mut [MaybeUninit<Self>]) -> Option<&mut [MaybeUninit<f32>]>;
}

impl ConvElement for f32 {
    fn buffers(pool: &ScratchPool) -> &Mutex<Vec<Vec<Self>>> {
        &pool.f32
    }
    fn as_f32(values: &[Self]) -> Option<&[f32]> {
        Some(values)
    }
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        Some(values)
    }
    fn as_f32_uninit(values: &mut [MaybeUninit<Self>]) -> Option<&mut [MaybeUninit<f32>]> {
        Some(values)
    }
}

impl ConvElement for f64 {
    fn buffers(pool: &ScratchPool) -> &Mutex<Vec<Vec<Self>>> {
        &pool.f64
    }
    fn as_f32(_: &[Self]) -> Option<&[f32]> {
        None
    }
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    fn as_f32_uninit(_: &mut [MaybeUninit<Self>]) -> Option<&mut [MaybeUninit<f32>]> {
        None
    }
}

/// Scratch buffers kept by a kernel between steps, so im2col does not allocate (and fault in) megabytes
/// every step.
#[derive(Debug, Default)]
pub struct ScratchPool {
    f32: Mutex<Vec<Vec<f32>>>,
    f64: Mutex<Vec<Vec<f64>>>,
}

impl ScratchPool {
    /// Runs `f` with a buffer of `len` elements (contents unspecified), then keeps the buffer.
    fn with<T: ConvElement, R>(&self, len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
        let mut buf = T::buffers(self).lock().pop().unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, T::ZERO);
        }
        let r = f(&mut buf[..len]);
        T::buffers(self).lock().push(buf);
        r
    }
}

/// The geometry of one convolution, validated once so the loops below index in bounds.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    /// Output channels (`Conv2D`) or the channel multiplier (depthwise).
    oc: usize,
    oh: usize,
    ow: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pad_top: usize,
    pad_left: usize,
}

impl Geom {
    fn new(input: &[usize], filter: &[usize], opts: Conv2DOptions, what: &str) -> Result<Geom> {
        let (&[n, h, w, c], &[kh, kw, fc, oc]) = (input, filter) else {
            return Err(Error::invalid_argument(format!(
                "{what}: input {} and filter {} must be 4-D",
                Shape::from(input),
                Shape::from(filter)
            )));
        };
        if c != fc {
            return Err(Error::invalid_argument(format!(
                "{what}: input depth {c} must match filter depth {fc} (input {}, filter {})",
                Shape::from(input),
                Shape::from(filter)
            )));
        }
        let (oh, pad_top) = windowed_output_size(h, kh, opts.strides[0], opts.dilations[0], opts.padding)
            .map_err(|e| e.context(what))?;
        let (ow, pad_left) = windowed_output_size(w, kw, opts.strides[1], opts.dilations[1], opts.padding)
            .map_err(|e| e.context(what))?;
        Ok(Geom {
            n,
            h,
            w,
            c,
            kh,
            kw,
            oc,
            oh,
            ow,
            sh: opts.strides[0],
            sw: opts.strides[1],
            dh: opts.dilations[0],
            dw: opts.dilations[1],
            pad_top,
            pad_left,
        })
    }

    /// Whether some dimension is zero, so the result is all zeros (or empty) and the chunked loops,
    /// which step by image and window sizes, must not run.
    fn degenerate(&self) -> bool {
        self.k() == 0 || self.image_len() == 0 || self.out_pixels() == 0 || self.oc == 0 || self.n == 0
    }

    /// Columns of the im2col matrix: one filter window.
    fn k(&self) -> usize {
        self.kh * self.kw * self.c
    }

    fn image_len(&self) -> usize {
        self.h * self.w * self.c
    }

    fn out_pixels(&self) -> usize {
        self.oh * self.ow
    }

    /// Images per chunk: as many as fit [`CHUNK_ELEMENTS`], but at least one chunk per thread.
    fn chunk(&self, threads: usize) -> usize {
        let per_thread = self.n.div_ceil(threads.max(1)).max(1);
        (CHUNK_ELEMENTS / (self.out_pixels() * self.k()).max(1)).clamp(1, per_thread)
    }

    /// The input row for output row `o` and filter row `k`, if inside the image.
    #[inline]
    fn in_y(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.sh + k * self.dh).checked_sub(self.pad_top).filter(|&y| y < self.h)
    }

    #[inline]
    fn in_x(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.sw + k * self.dw).checked_sub(self.pad_left).filter(|&x| x < self.w)
    }

    /// Writes the im2col rows of `images` (consecutive NHWC images) into `col`.
    fn im2col<T: ConvElement>(&self, images: &[T], col: &mut [T]) {
        let (k, c) = (self.k(), self.c);
        for (img, col) in
            images.chunks_exact(self.image_len()).zip(col.chunks_exact_mut(self.out_pixels() * k))
        {
            let run = self.kw * c;
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    let base = (oy * self.ow + ox) * k;
                    // With no dilation, a filter row that lies inside the image is one contiguous run of
                    // `kw * c` input values: copy it at once (the common case, and most of conv1's work).
                    let x0 = (ox * self.sw)
                        .checked_sub(self.pad_left)
                        .filter(|&x| self.dw == 1 && x + self.kw <= self.w);
                    for ki in 0..self.kh {
                        let y = self.in_y(oy, ki);
                        if let (Some(y), Some(x0)) = (y, x0) {
                            let (src, dst) = ((y * self.w + x0) * c, base + ki * run);
                            if run <= SHORT_RUN
                                && src + SHORT_RUN <= img.len()
                                && dst + SHORT_RUN <= col.len()
                            {
                                // A short run (conv1's 5 pixels of 1 channel) as one fixed-size copy: a
                                // `memcpy` call per 5 floats cost more than the product. The extra
                                // values land in this window's next filter row or the next window,
                                // both written after this one, in order.
                                col[dst..dst + SHORT_RUN].copy_from_slice(&img[src..src + SHORT_RUN]);
                            } else {
                                col[dst..][..run].copy_from_slice(&img[src..][..run]);
                            }
                            continue;
                        }
                        for kj in 0..self.kw {
                            let dst = &mut col[base + (ki * self.kw + kj) * c..][..c];
                            match (y, self.in_x(ox, kj)) {
                                (Some(y), Some(x)) => dst.copy_from_slice(&img[(y * self.w + x) * c..][..c]),
                                _ => dst.fill(T::ZERO),
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the im2col rows `col` back into `images` (the adjoint of [`im2col`](Self::im2col)).
    fn col2im<T: ConvElement>(&self, col: &[T], images: &mut [T]) {
        let (k, c) = (self.k(), self.c);
        for (img, col) in
            images.chunks_exact_mut(self.image_len()).zip(col.chunks_exact(self.out_pixels() * k))
        {
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    let row = &col[(oy * self.ow + ox) * k..][..k];
                    for ki in 0..self.kh {
                        let Some(y) = self.in_y(oy, ki) else { continue };
                        for kj in 0..self.kw {
                            let Some(x) = self.in_x(ox, kj) else { continue };
                            let src = &row[(ki * self.kw + kj) * c..][..c];
                            let dst = &mut img[(y * self.w + x) * c..][..c];
                            for (d, &s) in dst.iter_mut().zip(src) {
                                *d = d.add(s);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A matrix operand: its elements and its row and column strides.
#[derive(Clone, Copy)]
struct Mat<'a, T> {
    data: &'a [T],
    rs: usize,
    cs: usize,
}

impl<'a, T> Mat<'a, T> {
    fn row_major(data: &'a [T], cols: usize) -> Self {
        Mat { data, rs: cols, cs: 1 }
    }
    /// The transpose of a row-major `rows x cols` matrix.
    fn transposed(data: &'a [T], cols: usize) -> Self {
        Mat { data, rs: 1, cs: cols }
    }
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst (m x n, row-major) = a (m x k) · b (k x n)`, or `dst += a · b` when `accumulate`.
///
/// # Errors
/// `Internal` when an operand is smaller than its dimensions say (a bug of the caller).
#[allow(clippy::too_many_arguments)] // gemm's own shape: dimensions, operands and flags
fn gemm_into<T: GemmElement>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    accumulate: bool,
    threads: usize,
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if dst.len() < m * n || !a.fits(m, k) || !b.fits(k, n) {
        return Err(Error::internal(format!("gemm operands do not fit {m}x{k} · {k}x{n}")));
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::ZERO);
        }
        return Ok(());
    }
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // Safety: `dst` holds at least m*n elements laid out row-major (row stride n, column stride 1); `a`
    // and `b` were checked above to contain every element their strides address for m×k and k×n; `dst`
    // is a unique borrow, so it overlaps neither input. With `read_dst` false gemm never reads `dst`.
    unsafe {
        let handled = super::matmul::gemm_f32_fast(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            n as isize,
            accumulate,
            (a.data.as_ptr(), a.rs as isize, a.cs as isize),
            (b.data.as_ptr(), b.rs as isize, b.cs as isize),
            threads,
        );
        if handled {
            return Ok(());
        }
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

/// Contiguous elements of a float tensor (copied only when it is not in standard layout).
fn contiguous<T: ConvElement>(t: &Tensor) -> Result<std::borrow::Cow<'_, [T]>> {
    let a = t.array::<T>()?;
    Ok(match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        // `as_standard_layout` copies in one pass in memory order, far faster than an element iterator.
        None => std::borrow::Cow::Owned(a.as_standard_layout().into_owned().into_raw_vec_and_offset().0),
    })
}

/// A vector of `len` values that `fill` writes in full when it returns true, without zeroing it first
/// (zeroing the reference CNN's conv outputs cost 2% of its step, on one thread while the other idled).
///
/// # Safety
/// When `fill` returns `Ok(true)`, it has written every element of the slice it was given.
unsafe fn written<T>(
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<T>]) -> Result<bool>,
) -> Result<Option<Vec<T>>> {
    let mut values = Vec::with_capacity(len);
    if !fill(&mut values.spare_capacity_mut()[..len])? {
        return Ok(None);
    }
    // Safety: `fill` returned true, so it wrote all `len` values (the caller's contract).
    unsafe { values.set_len(len) };
    Ok(Some(values))
}

fn to_tensor<T: ConvElement>(shape: &[usize], data: Vec<T>) -> Result<Tensor> {
    Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(shape), data)?))
}

/// What a `Conv2D` fused by the remapper applies to each output pixel's channels while they are still
/// in cache: TF's `_FusedConv2D` with `BiasAdd`, optionally followed by `Relu`. These are the unfused
/// `Add` and `Relu` kernels' operations in the same order, so the bits are the same.
#[derive(Clone, Copy)]
pub(crate) struct BiasRelu<'a, T> {
    /// One value per output channel.
    pub bias: &'a [T],
    /// Whether negative sums become zero (NaN stays NaN, as in `Relu`).
    pub relu: bool,
}

impl<T: Arith> BiasRelu<'_, T> {
    /// Applies it to whole rows of channels; compiled for AVX-512 too, and chosen at run time.
    fn apply(&self, out: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            unsafe fn wide<T: Arith>(e: &BiasRelu<'_, T>, out: &mut [T]) {
                e.apply_here(out);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // Safety: the CPU has the feature `wide` was compiled for.
                unsafe { wide(self, out) };
                return;
            }
        }
        self.apply_here(out);
    }

    #[inline(always)]
    fn apply_here(&self, out: &mut [T]) {
        let rows = out.chunks_exact_mut(self.bias.len().max(1));
        if self.relu {
            for row in rows {
                for (v, &b) in row.iter_mut().zip(self.bias) {
                    let s = v.add(b);
                    *v = if s < T::default() { T::default() } else { s };
                }
            }
        } else {
            for row in rows {
                for (v, &b) in row.iter_mut().zip(self.bias) {
                    *v = v.add(b);
                }
            }
        }
    }
}

/// `Conv2D`: per chunk of images, im2col then `[pixels, k] · [k, oc]` straight into the output.
pub fn conv2d_forward<T: ConvElement>(
    x: &Tensor,
    filter: &Tensor,
    opts: Conv2DOptions,
    threads: usize,
    pool: &ScratchPool,
) -> Result<Tensor> {
    conv2d_forward_fused::<T>(x, filter, opts, None, threads, pool)
}

/// [`conv2d_forward`], then `epilogue` on each chunk of the output as soon as it is computed.
fn conv2d_forward_fused<T: ConvElement>(
    x: &Tensor,
    filter: &Tensor,
    opts: Conv2DOptions,
    epilogue: Option<BiasRelu<'_, T>>,
    threads: usize,
    pool: &ScratchPool,
) -> Result<Tensor> {
    let g = Geom::new(x.shape(), filter.shape(), opts, "Conv2D")?;
    let (k, pixels) = (g.k(), g.out_pixels());
    let len = g.n * pixels * g.oc;
    let (xs, ws) = (contiguous::<T>(x)?, contiguous::<T>(filter)?);
    if !g.degenerate() {
        // Safety: `implicit_gemm::forward` writes all of `out` when it returns true.
        let out = unsafe {
            written(len, |out| {
                let f32s = (T::as_f32(&xs), T::as_f32(&ws), T::as_f32_uninit(out));
                let epilogue32 = match epilogue {
                    Some(e) => T::as_f32(e.bias).map(|bias| Some(BiasRelu { bias, relu: e.relu })),
                    None => Some(None),
                };
                match (f32s, epilogue32) {
                    ((Some(x32), Some(w32), Some(out32)), Some(e)) => {
                        implicit_gemm::forward(&g, x32, w32, out32, e, threads, pool)
                    }
                    _ => Ok(false),
                }
            })?
        };
        if let Some(out) = out {
            return to_tensor(&[g.n, g.oh, g.ow, g.oc], out);
        }
    }
    let mut out = vec![T::ZERO; len];
    if g.degenerate() {
        if let Some(e) = epilogue {
            e.apply(&mut out);
        }
        return to_tensor(&[g.n, g.oh, g.ow, g.oc], out);
    }
    let chunk = g.chunk(threads);
    let run = |(i, out): (usize, &mut [T])| -> Result<()> {
        let imgs = out.len() / (pixels * g.oc).max(1);
        let src = &xs[i * chunk * g.image_len()..][..imgs * g.image_len()];
        let rows = imgs * pixels;
        let inner = if threads > 1 && g.n <= chunk { threads } else { 1 };
        pool.with::<T, _>(rows * k, |col| {
            g.im2col(src, col);
            gemm_into(rows, g.oc, k, out, Mat::row_major(col, k), Mat::row_major(&ws, g.oc), false, inner)
        })?;
        if let Some(e) = epilogue {
            e.apply(out);
        }
        Ok(())
    };
    if out.is_empty() {
        return to_tensor(&[g.n, g.oh, g.ow, g.oc], out);
    }
    let step = chunk * pixels * g.oc;
    if threads > 1 && g.n > chunk {
        out.par_chunks_mut(step).enumerate().try_for_each(run)?;
    } else {
        out.chunks_mut(step).enumerate().try_for_each(run)?;
    }
    to_tensor(&[g.n, g.oh, g.ow, g.oc], out)
}

/// `Conv2DBackpropInput`: per chunk, `dcol = dy · filterᵀ`, then col2im adds it into the images.
pub fn conv2d_backprop_input_compute<T: ConvElement>(
    input_shape: &[usize],
    filter: &Tensor,
    dy: &Tensor,
    opts: Conv2DOptions,
    threads: usize,
    pool: &ScratchPool,
) -> Result<Tensor> {
    let g = Geom::new(input_shape, filter.shape(), opts, "Conv2DBackpropInput")?;
    let expected = [g.n, g.oh, g.ow, g.oc];
    if dy.shape() != expected {
        return Err(Error::invalid_argument(format!(
            "Conv2DBackpropInput: out_backprop has shape {}, expected {}",
            Shape::from(dy.shape()),
            Shape::from(&expected[..])
        )));
    }
    let (k, pixels) = (g.k(), g.out_pixels());
    let len = g.n * g.image_len();
    let (dys, ws) = (contiguous::<T>(dy)?, contiguous::<T>(filter)?);
    if !g.degenerate() {
        // Safety: `implicit_gemm::backprop_input` writes all of `dx` when it returns true.
        let dx = unsafe {
            written(len, |dx| match (T::as_f32(&ws), T::as_f32(&dys), T::as_f32_uninit(dx)) {
                (Some(w32), Some(dy32), Some(dx32)) => {
                    implicit_gemm::backprop_input(&g, w32, dy32, dx32, threads, pool)
                }
                _ => Ok(false),
            })?
        };
        if let Some(dx) = dx {
            return to_tensor(input_shape, dx);
        }
    }
    let mut dx = vec![T::ZERO; len];
    if g.degenerate() {
        return to_tensor(input_shape, dx);
    }
    let chunk = g.chunk(threads);
    let run = |(i, dx): (usize, &mut [T])| -> Result<()> {
        let imgs = dx.len() / g.image_len().max(1);
        let rows = imgs * pixels;
        let dy_chunk = &dys[i * chunk * pixels * g.oc..][..rows * g.oc];
        let inner = if threads > 1 && g.n <= chunk { threads } else { 1 };
        pool.with::<T, _>(rows * k, |col| {
            gemm_into(
                rows,
                k,
                g.oc,
                col,
                Mat::row_major(dy_chunk, g.oc),
                Mat::transposed(&ws, g.oc),
                false,
                inner,
            )?;
            g.col2im(col, dx);
            Ok(())
        })
    };
    if !dx.is_empty() {
        let step = chunk * g.image_len();
        if threads > 1 && g.n > chunk {
            dx.par_chunks_mut(step).enumerate().try_for_each(run)?;
        } else {
            dx.chunks_mut(step).enumerate().try_for_each(run)?;
        }
    }
    to_tensor(input_shape, dx)
}

/// `Conv2DBackpropFilter`: the sum over chunks of `colᵀ · dy`, one partial sum per rayon task.
pub fn conv2d_backprop_filter_compute<T: ConvElement>(
    x: &Tensor,
    filter_shape: &[usize],
    dy: &Tensor,
    opts: Conv2DOptions,
    threads: usize,
    pool: &ScratchPool,
) -> Result<Tensor> {
    let g = Geom::new(x.shape(), filter_shape, opts, "Conv2DBackpropFilter")?;
    let expected = [g.n, g.oh, g.ow, g.oc];
    if dy.shape() != expected {
        return Err(Error::invalid_argument(format!(
            "Conv2DBackpropFilter: out_backprop has shape {}, expected {}",
            Shape::from(dy.shape()),
            Shape::from(&expected[..])
        )));
    }
    let (k, pixels) = (g.k(), g.out_pixels());
    if g.degenerate() {
        return to_tensor(filter_shape, vec![T::ZERO; k * g.oc]);
    }
    let (xs, dys) = (contiguous::<T>(x)?, contiguous::<T>(dy)?);
    if let (Some(x32), Some(dy32)) = (T::as_f32(&xs), T::as_f32(&dys)) {
        let mut dw = vec![0.0f32; k * g.oc];
        if implicit_gemm::backprop_filter(&g, x32, dy32, &mut dw, threads, pool)? {
            return Ok(Tensor::from(ArrayD::from_shape_vec(IxDyn(filter_shape), dw)?));
        }
    }
    let chunk = g.chunk(threads);
    let n_chunks = g.n.div_ceil(chunk);
    let partial = |acc: &mut Vec<T>, i: usize, inner: usize| -> Result<()> {
        let imgs = chunk.min(g.n - i * chunk);
        let rows = imgs * pixels;
        let src = &xs[i * chunk * g.image_len()..][..imgs * g.image_len()];
        let dy_chunk = &dys[i * chunk * pixels * g.oc..][..rows * g.oc];
        pool.with::<T, _>(rows * k, |col| {
            g.im2col(src, col);
            gemm_into(
                k,
                g.oc,
                rows,
                acc,
                Mat::transposed(col, k),
                Mat::row_major(dy_chunk, g.oc),
                true,
                inner,
            )
        })
    };
    let dw = if threads > 1 && n_chunks > 1 {
        let tasks = threads.min(n_chunks);
        let per = n_chunks.div_ceil(tasks);
        let parts = (0..tasks)
            .into_par_iter()
            .map(|t| {
                let mut acc = vec![T::ZERO; k * g.oc];
                for i in t * per..((t + 1) * per).min(n_chunks) {
                    partial(&mut acc, i, 1)?;
                }
                Ok(acc)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut parts = parts.into_iter();
        let mut total = parts.next().unwrap_or_else(|| vec![T::ZERO; k * g.oc]);
        for p in parts {
            for (t, v) in total.iter_mut().zip(p) {
                *t = t.add(v);
            }
        }
        total
    } else {
        let mut acc = vec![T::ZERO; k * g.oc];
        for i in 0..n_chunks {
            partial(&mut acc, i, threads)?;
        }
        acc
    };
    to_tensor(filter_shape, dw)
}

/// `DepthwiseConv2dNative`: output channel `c * multiplier + q` convolves input channel `c` with
/// `filter[.., .., c, q]`.
pub fn depthwise_forward<T: ConvElement>(
    x: &Tensor,
    filter: &Tensor,
    opts: Conv2DOptions,
    threads: usize,
) -> Result<Tensor> {
    let g = Geom::new(x.shape(), filter.shape(), opts, "DepthwiseConv2dNative")?;
    let (xs, ws) = (contiguous::<T>(x)?, contiguous::<T>(filter)?);
    let (c, m) = (g.c, g.oc);
    let out_img = g.out_pixels() * c * m;
    let mut out = vec![T::ZERO; g.n * out_img];
    let run = |(b, out): (usize, &mut [T])| {
        let img = &xs[b * g.image_len()..][..g.image_len()];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = &mut out[(oy * g.ow + ox) * c * m..][..c * m];
                for ki in 0..g.kh {
                    let Some(y) = g.in_y(oy, ki) else { continue };
                    for kj in 0..g.kw {
                        let Some(xx) = g.in_x(ox, kj) else { continue };
                        let px = &img[(y * g.w + xx) * c..][..c];
                        let wk = &ws[(ki * g.kw + kj) * c * m..][..c * m];
                        for (ci, &v) in px.iter().enumerate() {
                            for q in 0..m {
                                let idx = ci * m + q;
                                o[idx] = o[idx].add(v.mul(wk[idx]));
                            }
                        }
                    }
                }
            }
        }
    };
    if out_img > 0 {
        if threads > 1 {
            out.par_chunks_mut(out_img).enumerate().for_each(run);
        } else {
            out.chunks_mut(out_img).enumerate().for_each(run);
        }
    }
    to_tensor(&[g.n, g.oh, g.ow, c * m], out)
}

fn check_dy(g: &Geom, dy: &Tensor, channels: usize, what: &str) -> Result<()> {
    let expected = [g.n, g.oh, g.ow, channels];
    if dy.shape() != expected {
        return Err(Error::invalid_argument(format!(
            "{what}: out_backprop has shape {}, expected {}",
            Shape::from(dy.shape()),
            Shape::from(&expected[..])
        )));
    }
    Ok(())
}

/// `DepthwiseConv2dNativeBackpropInput`.
pub fn depthwise_backprop_input_compute<T: ConvElement>(
    input_shape: &[usize],
    filter: &Tensor,
    dy: &Tensor,
    opts: Conv2DOptions,
    threads: usize,
) -> Result<Tensor> {
    let what = "DepthwiseConv2dNativeBackpropInput";
    let g = Geom::new(input_shape, filter.shape(), opts, what)?;
    let (c, m) = (g.c, g.oc);
    check_dy(&g, dy, c * m, what)?;
    let (dys, ws) = (contiguous::<T>(dy)?, contiguous::<T>(filter)?);
    let out_img = g.out_pixels() * c * m;
    let mut dx = vec![T::ZERO; g.n * g.image_len()];
    let run = |(b, dx): (usize, &mut [T])| {
        let d = &dys[b * out_img..][..out_img];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = &d[(oy * g.ow + ox) * c * m..][..c * m];
                for ki in 0..g.kh {
                    let Some(y) = g.in_y(oy, ki) else { continue };
                    for kj in 0..g.kw {
                        let Some(xx) = g.in_x(ox, kj) else { continue };
                        let px = &mut dx[(y * g.w + xx) * c..][..c];
                        let wk = &ws[(ki * g.kw + kj) * c * m..][..c * m];
                        for (ci, p) in px.iter_mut().enumerate() {
                            for q in 0..m {
                                let idx = ci * m + q;
                                *p = p.add(o[idx].mul(wk[idx]));
                            }
                        }
                    }
                }
            }
        }
    };
    if g.image_len() > 0 {
        if threads > 1 {
            dx.par_chunks_mut(g.image_len()).enumerate().for_each(run);
        } else {
            dx.chunks_mut(g.image_len()).enumerate().for_each(run);
        }
    }
    to_tensor(input_shape, dx)
}

/// `DepthwiseConv2dNativeBackpropFilter`.
pub fn depthwise_backprop_filter_compute<T: ConvElement>(
    x: &Tensor,
    filter_shape: &[usize],
    dy: &Tensor,
    opts: Conv2DOptions,
) -> Result<Tensor> {
    let what = "DepthwiseConv2dNativeBackpropFilter";
    let g = Geom::new(x.shape(), filter_shape, opts, what)?;
    let (c, m) = (g.c, g.oc);
    check_dy(&g, dy, c * m, what)?;
    let (xs, dys) = (contiguous::<T>(x)?, contiguous::<T>(dy)?);
    let out_img = g.out_pixels() * c * m;
    let mut dw = vec![T::ZERO; g.kh * g.kw * c * m];
    for b in 0..g.n {
        let img = &xs[b * g.image_len()..][..g.image_len()];
        let d = &dys[b * out_img..][..out_img];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = &d[(oy * g.ow + ox) * c * m..][..c * m];
                for ki in 0..g.kh {
                    let Some(y) = g.in_y(oy, ki) else { continue };
                    for kj in 0..g.kw {
                        let Some(xx) = g.in_x(ox, kj) else { continue };
                        let px = &img[(y * g.w + xx) * c..][..c];
                        let wk = &mut dw[(ki * g.kw + kj) * c * m..][..c * m];
                        for (ci, &v) in px.iter().enumerate() {
                            for q in 0..m {
                                let idx = ci * m + q;
                                wk[idx] = wk[idx].add(v.mul(o[idx]));
                            }
                        }
                    }
                }
            }
        }
    }
    to_tensor(filter_shape, dw)
}

fn sizes(t: &Tensor, what: &str) -> Result<Vec<usize>> {
    super::int_values(t, what)?
        .into_iter()
        .map(|d| {
            usize::try_from(d).map_err(|_| Error::invalid_argument(format!("{what} has a negative size {d}")))
        })
        .collect()
}

fn float_dtype(t: &Tensor, what: &str) -> Result<DType> {
    match t.dtype() {
        d @ (DType::F32 | DType::F64) => Ok(d),
        d => Err(Error::invalid_argument(format!("{what} does not support {d}"))),
    }
}

/// Which computation a [`ConvKernel`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConvOp {
    Forward,
    BackpropInput,
    BackpropFilter,
    Depthwise,
    DepthwiseBackpropInput,
    DepthwiseBackpropFilter,
}

struct ConvKernel {
    op: ConvOp,
    opts: Conv2DOptions,
    name: String,
    pool: ScratchPool,
}

impl ConvKernel {
    fn compute_typed<T: ConvElement + TensorElement>(&self, ctx: &OpKernelContext<'_>) -> Result<Tensor> {
        let (opts, threads, pool) = (self.opts, ctx.threads, &self.pool);
        match self.op {
            ConvOp::Forward => conv2d_forward::<T>(ctx.input(0)?, ctx.input(1)?, opts, threads, pool),
            ConvOp::BackpropInput => {
                let shape = sizes(ctx.input(0)?, "input_sizes")?;
                conv2d_backprop_input_compute::<T>(&shape, ctx.input(1)?, ctx.input(2)?, opts, threads, pool)
            }
            ConvOp::BackpropFilter => {
                let shape = sizes(ctx.input(1)?, "filter_sizes")?;
                conv2d_backprop_filter_compute::<T>(ctx.input(0)?, &shape, ctx.input(2)?, opts, threads, pool)
            }
            ConvOp::Depthwise => depthwise_forward::<T>(ctx.input(0)?, ctx.input(1)?, opts, threads),
            ConvOp::DepthwiseBackpropInput => {
                let shape = sizes(ctx.input(0)?, "input_sizes")?;
                depthwise_backprop_input_compute::<T>(&shape, ctx.input(1)?, ctx.input(2)?, opts, threads)
            }
            ConvOp::DepthwiseBackpropFilter => {
                let shape = sizes(ctx.input(1)?, "filter_sizes")?;
                depthwise_backprop_filter_compute::<T>(ctx.input(0)?, &shape, ctx.input(2)?, opts)
            }
        }
    }
}

impl OpKernel for ConvKernel {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let float_input = match self.op {
            ConvOp::Forward
            | ConvOp::Depthwise
            | ConvOp::BackpropFilter
            | ConvOp::DepthwiseBackpropFilter => 0,
            ConvOp::BackpropInput | ConvOp::DepthwiseBackpropInput => 1,
        };
        let out = match float_dtype(ctx.input(float_input)?, &self.name)? {
            DType::F64 => self.compute_typed::<f64>(ctx),
            _ => self.compute_typed::<f32>(ctx),
        }
        .map_err(|e| e.context(format!("node '{}'", self.name)))?;
        ctx.output(out);
        Ok(())
    }
}

fn make(init: &KernelInit<'_>, op: ConvOp) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(ConvKernel {
        op,
        opts: conv_attrs(&init.node.attrs)?,
        name: init.node.name.clone(),
        pool: ScratchPool::default(),
    }))
}

/// `Conv2D`, a bias add and optionally `Relu` as one kernel (TF's `_FusedConv2D`). The remapper builds
/// it for a `Conv2D` node whose only reader is the add; its inputs are the node's two and the bias.
struct FusedConv2D {
    conv: ConvKernel,
    relu: bool,
}

impl FusedConv2D {
    fn run<T: ConvElement + TensorElement>(&self, ctx: &OpKernelContext<'_>) -> Result<Tensor> {
        let (x, filter, bias) = (ctx.input(0)?, ctx.input(1)?, ctx.input(2)?);
        let channels = filter.shape().last().copied().unwrap_or(0);
        if bias.shape() != [channels] || bias.dtype() != x.dtype() {
            return Err(Error::invalid_argument(format!(
                "the bias added to the convolution must be a {} vector of {channels} values, got {} {}",
                x.dtype(),
                bias.dtype(),
                Shape::from(bias.shape())
            )));
        }
        let bias = contiguous::<T>(bias)?;
        let epilogue = BiasRelu { bias: &bias, relu: self.relu };
        conv2d_forward_fused::<T>(x, filter, self.conv.opts, Some(epilogue), ctx.threads, &self.conv.pool)
    }
}

impl OpKernel for FusedConv2D {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let out = match float_dtype(ctx.input(0)?, &self.conv.name)? {
            DType::F64 => self.run::<f64>(ctx),
            _ => self.run::<f32>(ctx),
        }
        .map_err(|e| e.context(format!("node '{}' (fused with its bias add)", self.conv.name)))?;
        ctx.output(out);
        Ok(())
    }
}

/// The kernel of a `Conv2D` node fused with the bias add after it and, when `relu`, the `Relu` after
/// that. It takes the bias as a third input.
///
/// # Errors
/// `InvalidArgument` for a node without convolution attributes.
pub(crate) fn fused_conv2d(node: &Node, relu: bool) -> Result<Arc<dyn OpKernel>> {
    let conv = ConvKernel {
        op: ConvOp::Forward,
        opts: conv_attrs(&node.attrs)?,
        name: node.name.clone(),
        pool: ScratchPool::default(),
    };
    Ok(Arc::new(FusedConv2D { conv, relu }))
}

fn conv2d(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, ConvOp::Forward)
}

fn conv2d_backprop_input(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, ConvOp::BackpropInput)
}

fn conv2d_backprop_filter(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, ConvOp::BackpropFilter)
}

fn depthwise(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, ConvOp::Depthwise)
}

fn depthwise_backprop_input(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, ConvOp::DepthwiseBackpropInput)
}

fn depthwise_backprop_filter(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, ConvOp::DepthwiseBackpropFilter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_graph::ops::conv_ops::Padding;

    /// The definition of a convolution, one multiply-add at a time.
    fn naive(
        x: &[f64],
        xs: [usize; 4],
        w: &[f64],
        ws: [usize; 4],
        opts: Conv2DOptions,
    ) -> Result<(Vec<f64>, [usize; 4])> {
        let g = Geom::new(&xs, &ws, opts, "naive")?;
        let mut out = vec![0.0; g.n * g.oh * g.ow * g.oc];
        for b in 0..g.n {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for o in 0..g.oc {
                        let mut s = 0.0;
                        for ki in 0..g.kh {
                            for kj in 0..g.kw {
                                let y = (oy * g.sh + ki * g.dh) as i64 - g.pad_top as i64;
                                let xx = (ox * g.sw + kj * g.dw) as i64 - g.pad_left as i64;
                                if y < 0 || xx < 0 || y >= g.h as i64 || xx >= g.w as i64 {
                                    continue;
                                }
                                for c in 0..g.c {
                                    s += x[((b * g.h + y as usize) * g.w + xx as usize) * g.c + c]
                                        * w[((ki * g.kw + kj) * g.c + c) * g.oc + o];
                                }
                            }
                        }
                        out[((b * g.oh + oy) * g.ow + ox) * g.oc + o] = s;
                    }
                }
            }
        }
        Ok((out, [g.n, g.oh, g.ow, g.oc]))
    }

    #[test]
    fn empty_dimensions_give_zeros_instead_of_panicking() -> Result<()> {
        let pool = ScratchPool::default();
        let opts = Conv2DOptions::new(1, Padding::Same);
        let x = Tensor::from_vec::<f32>(&[2, 3, 3, 0], vec![])?;
        let w = Tensor::from_vec::<f32>(&[2, 2, 0, 4], vec![])?;
        assert_eq!(conv2d_forward::<f32>(&x, &w, opts, 2, &pool)?.to_vec::<f32>()?, vec![0.0; 72]);
        let dy = Tensor::from_vec(&[2, 3, 3, 4], vec![1.0f32; 72])?;
        assert_eq!(
            conv2d_backprop_filter_compute::<f32>(&x, &[2, 2, 0, 4], &dy, opts, 2, &pool)?.shape(),
            &[2, 2, 0, 4]
        );
        assert_eq!(
            conv2d_backprop_input_compute::<f32>(&[2, 3, 3, 0], &w, &dy, opts, 2, &pool)?.shape(),
            &[2, 3, 3, 0]
        );
        Ok(())
    }

    #[test]
    fn im2col_gemm_matches_the_definition() -> Result<()> {
        let cases = [
            ([2, 5, 6, 3], [3, 3, 3, 4], Conv2DOptions::new(1, Padding::Same)),
            ([2, 5, 6, 3], [3, 2, 3, 4], Conv2DOptions::new(2, Padding::Valid)),
            (
                [3, 7, 7, 2],
                [3, 3, 2, 5],
                Conv2DOptions { strides: [2, 1], dilations: [2, 2], padding: Padding::Same },
            ),
            ([1, 4, 4, 1], [1, 1, 1, 2], Conv2DOptions::new(1, Padding::Valid)),
        ];
        let pool = ScratchPool::default();
        for (xs, ws, opts) in cases {
            let x: Vec<f64> =
                (0..xs.iter().product::<usize>()).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            let w: Vec<f64> = (0..ws.iter().product::<usize>()).map(|i| ((i * 5) % 7) as f64 - 3.0).collect();
            let (expected, shape) = naive(&x, xs, &w, ws, opts)?;
            for threads in [1, 2] {
                let got = conv2d_forward::<f64>(
                    &Tensor::from_vec(&xs, x.clone())?,
                    &Tensor::from_vec(&ws, w.clone())?,
                    opts,
                    threads,
                    &pool,
                )?;
                assert_eq!(got.shape(), shape);
                assert_eq!(got.to_vec::<f64>()?, expected, "{xs:?} {ws:?} {opts:?}");
            }
        }
        Ok(())
    }
}
