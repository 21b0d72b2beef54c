//! f32 convolutions as GEMMs that read the im2col matrix in place (on CPUs with AVX-512).
//!
//! im2col copies every input value `kh * kw` times (40 MB per pass for the reference CNN's second
//! convolution) and col2im adds as much back; with the input zero-padded once per image, each im2col
//! element is `padded[pixel_offset + window_offset]`, so the GEMM kernel reads it through two offset
//! tables instead ([`gather_gemm`]). Per pass that leaves one copy of the input (the padding) and the
//! product itself:
//! - `Conv2D`: `out[pixel, oc] = Σ_k padded[pixel + k] · filter[k, oc]`.
//! - `Conv2DBackpropInput` with unit strides and dilations: the forward convolution of the padded `dy`
//!   with the filter flipped in space and with its channel axes swapped (no col2im).
//! - `Conv2DBackpropFilter`: `dw[k, oc] = Σ_pixel padded[k + pixel] · dy[pixel, oc]`, one partial sum per
//!   task, added in task order (deterministic for a thread count).
//!
//! Products of a filter row with padding rows are skipped (`row_depths` of [`gather_gemm`]): 16% of the
//! reference CNN's second convolution, 5x5 SAME on 14x14 images, multiplies padding, half of it rows.
//!
//! Each entry point returns `Ok(false)` when it does not apply (no AVX-512, other strides for the input
//! gradient), and the caller falls back to im2col.

use super::{BiasRelu, Geom, ScratchPool};
use crate::kernels::matmul::{
    gather_gemm, gather_gemm_available, gather_gemm_uninit, pack_panels, pack_panels_gathered, panels_len,
    RowsEpilogue, PANEL,
};
use ferroflow_core::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Padded input values aimed for per chunk of images (256 KiB of f32): a chunk is padded and then
/// read `kh * kw` times by the product, so it should stay in a core's L2.
const CHUNK_VALUES: usize = 1 << 16;

/// The zero-padded layout of a convolution's input: every window lies inside it, so the product reads
/// it without bounds checks.
#[derive(Debug, Clone, Copy)]
struct Padded {
    h: usize,
    w: usize,
}

impl Padded {
    fn new(g: &Geom) -> Padded {
        let extent = |out: usize, stride: usize, k: usize, dilation: usize| {
            out.saturating_sub(1) * stride + k.saturating_sub(1) * dilation + 1
        };
        Padded {
            h: (g.pad_top + g.h).max(extent(g.oh, g.sh, g.kh, g.dh)),
            w: (g.pad_left + g.w).max(extent(g.ow, g.sw, g.kw, g.dw)),
        }
    }

    fn image_len(&self, g: &Geom) -> usize {
        self.h * self.w * g.c
    }

    /// Copies `images` (consecutive NHWC images of `g`) into `dst` with their padding.
    fn fill(&self, g: &Geom, images: &[f32], dst: &mut [f32]) {
        dst.fill(0.0);
        let row = g.w * g.c;
        for (img, out) in images.chunks_exact(g.image_len()).zip(dst.chunks_exact_mut(self.image_len(g))) {
            for (y, src) in img.chunks_exact(row).enumerate() {
                let at = ((y + g.pad_top) * self.w + g.pad_left) * g.c;
                out[at..at + row].copy_from_slice(src);
            }
        }
    }

    /// Offset of each output pixel's window origin, for `images` consecutive padded images.
    fn pixel_offsets(&self, g: &Geom, images: usize) -> Vec<isize> {
        let mut v = Vec::with_capacity(images * g.out_pixels());
        for i in 0..images {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    v.push(((i * self.h + oy * g.sh) * self.w + ox * g.sw) as isize * g.c as isize);
                }
            }
        }
        v
    }

    /// For each output pixel of `images` images, the im2col columns its window can find data in: the
    /// filter rows that fall on image rows rather than padding (16% of the reference CNN's 5x5 SAME
    /// products on 14x14 images are with padding rows and columns; this skips the rows).
    fn depths(g: &Geom, images: usize) -> Vec<(usize, usize)> {
        let per_row = g.kw * g.c;
        let rows: Vec<(usize, usize)> = (0..g.oh)
            .map(|oy| {
                let inside = |ki: &usize| g.in_y(oy, *ki).is_some();
                let lo = (0..g.kh).find(inside).unwrap_or(g.kh);
                let hi = (0..g.kh).rev().find(inside).map_or(lo, |ki| ki + 1);
                (lo * per_row, hi.max(lo) * per_row)
            })
            .collect();
        let mut v = Vec::with_capacity(images * g.out_pixels());
        for _ in 0..images {
            for &r in &rows {
                v.extend(std::iter::repeat_n(r, g.ow));
            }
        }
        v
    }

    /// The output pixels of `images` images ordered by output row, then image, then column, as (window
    /// origin, row of `dy`): summed over in this order, the pixels whose window row `ki` falls on the
    /// image form one range for every `ki` (see [`Padded::filter_depths`]).
    fn pixels_by_row(&self, g: &Geom, images: usize) -> (Vec<isize>, Vec<usize>) {
        let len = images * g.out_pixels();
        let (mut origins, mut rows) = (Vec::with_capacity(len), Vec::with_capacity(len));
        for oy in 0..g.oh {
            for i in 0..images {
                for ox in 0..g.ow {
                    origins.push(((i * self.h + oy * g.sh) * self.w + ox * g.sw) as isize * g.c as isize);
                    rows.push((i * g.oh + oy) * g.ow + ox);
                }
            }
        }
        (origins, rows)
    }

    /// For each im2col column (a filter tap), the pixels of [`Padded::pixels_by_row`] whose window puts
    /// the tap on an image row: the filter gradient skips the products with padding rows.
    fn filter_depths(g: &Geom, images: usize) -> Vec<(usize, usize)> {
        let per_out_row = images * g.ow;
        (0..g.kh)
            .flat_map(|ki| {
                let inside = |oy: &usize| g.in_y(*oy, ki).is_some();
                let lo = (0..g.oh).find(inside).unwrap_or(g.oh);
                let hi = (0..g.oh).rev().find(inside).map_or(lo, |oy| oy + 1);
                std::iter::repeat_n((lo * per_out_row, hi.max(lo) * per_out_row), g.kw * g.c)
            })
            .collect()
    }

    /// Offset of each im2col column (filter row, filter column, channel) from a window's origin.
    fn window_offsets(&self, g: &Geom) -> Vec<isize> {
        let mut v = Vec::with_capacity(g.k());
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let at = (ki * g.dh * self.w + kj * g.dw) * g.c;
                v.extend((at..at + g.c).map(|o| o as isize));
            }
        }
        v
    }

    /// Images per chunk: as many as fit [`CHUNK_VALUES`], at least one.
    fn chunk(&self, g: &Geom) -> usize {
        (CHUNK_VALUES / self.image_len(g).max(1)).max(1)
    }
}

/// What the products of one convolution share: the padded layout, the images per chunk, and the
/// offset tables of the window columns and of a chunk's output pixels (in image order).
struct Tables {
    padded: Padded,
    chunk: usize,
    windows: Vec<isize>,
    origins: Vec<isize>,
}

impl Tables {
    /// The tables of `g`, or `None` where the CPU cannot run [`gather_gemm`].
    fn new(g: &Geom) -> Option<Tables> {
        if !gather_gemm_available() {
            return None;
        }
        let padded = Padded::new(g);
        let chunk = padded.chunk(g);
        let (windows, origins) = (padded.window_offsets(g), padded.pixel_offsets(g, chunk));
        Some(Tables { padded, chunk, windows, origins })
    }
}

/// Images per task: the batch split evenly over at most `threads` tasks.
fn per_task(n: usize, threads: usize) -> usize {
    n.div_ceil(threads.clamp(1, n.max(1))).max(1)
}

/// `Conv2D` of `x` with a filter given as a row-major `k × oc` matrix, into `out`, with `epilogue`
/// applied inside the product to each block of finished rows. When it returns true, every element of
/// `out` has been written.
pub(super) fn forward(
    g: &Geom,
    x: &[f32],
    filter: &[f32],
    out: &mut [MaybeUninit<f32>],
    epilogue: Option<BiasRelu<'_, f32>>,
    threads: usize,
    pool: &ScratchPool,
) -> Result<bool> {
    let Some(Tables { padded, chunk, windows, origins }) = Tables::new(g) else { return Ok(false) };
    let (k, pixels) = (g.k(), g.out_pixels());
    let depths = Padded::depths(g, chunk);
    // A filter of exactly one panel's width is its own packed form (no copy).
    let len = if g.oc == PANEL { 0 } else { panels_len(k, g.oc) };
    pool.with::<f32, _>(len, |packed| {
        let panels = if g.oc == PANEL {
            filter
        } else {
            pack_panels(filter, k, g.oc, packed)?;
            &*packed
        };
        let bias_relu = epilogue.map(|e| move |rows: &mut [f32]| e.apply(rows));
        let apply = bias_relu.as_ref().map(|f| f as RowsEpilogue<'_>);
        let task = |(t, out): (usize, &mut [MaybeUninit<f32>])| -> Result<()> {
            let first = t * per_task(g.n, threads);
            let images = out.len() / (pixels * g.oc);
            for start in (0..images).step_by(chunk) {
                let imgs = chunk.min(images - start);
                let src = &x[(first + start) * g.image_len()..][..imgs * g.image_len()];
                let dst = &mut out[start * pixels * g.oc..][..imgs * pixels * g.oc];
                let written = pool.with::<f32, _>(imgs * padded.image_len(g), |buf| {
                    padded.fill(g, src, buf);
                    let (rows, depths) = (&origins[..imgs * pixels], &depths[..imgs * pixels]);
                    let dims = (imgs * pixels, g.oc, k);
                    gather_gemm_uninit(dims, dst, buf, rows, &windows, Some(depths), panels, apply)
                })?;
                if !written {
                    return Err(Error::internal("gather_gemm became unavailable during a convolution"));
                }
            }
            Ok(())
        };
        let step = per_task(g.n, threads) * pixels * g.oc;
        if threads > 1 && g.n > 1 {
            out.par_chunks_mut(step).enumerate().try_for_each(task)
        } else {
            out.chunks_mut(step).enumerate().try_for_each(task)
        }
    })?;
    Ok(true)
}

/// `Conv2DBackpropInput` for unit strides and dilations: the forward convolution of `dy`, padded by
/// the filter size less the forward padding, with `w'[ki, kj, oc, c] = w[kh-1-ki, kw-1-kj, c, oc]`.
pub(super) fn backprop_input(
    g: &Geom,
    filter: &[f32],
    dy: &[f32],
    dx: &mut [MaybeUninit<f32>],
    threads: usize,
    pool: &ScratchPool,
) -> Result<bool> {
    if !gather_gemm_available() || (g.sh, g.sw, g.dh, g.dw) != (1, 1, 1, 1) {
        return Ok(false);
    }
    let full = Geom {
        h: g.oh,
        w: g.ow,
        c: g.oc,
        oc: g.c,
        oh: g.h,
        ow: g.w,
        pad_top: g.kh - 1 - g.pad_top.min(g.kh - 1),
        pad_left: g.kw - 1 - g.pad_left.min(g.kw - 1),
        ..*g
    };
    let taps = g.kh * g.kw;
    pool.with::<f32, _>(taps * g.c * g.oc, |flipped| {
        for (tap, block) in flipped.chunks_exact_mut(g.oc * g.c).enumerate() {
            let src = &filter[(taps - 1 - tap) * g.c * g.oc..][..g.c * g.oc];
            for (o, row) in block.chunks_exact_mut(g.c).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = src[c * g.oc + o];
                }
            }
        }
        forward(&full, dy, flipped, dx, None, threads, pool)
    })
}

/// `Conv2DBackpropFilter` into `dw` (a row-major `k × oc` matrix).
pub(super) fn backprop_filter(
    g: &Geom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    threads: usize,
    pool: &ScratchPool,
) -> Result<bool> {
    let Some(Tables { padded, chunk, windows, origins }) = Tables::new(g) else { return Ok(false) };
    let (k, pixels) = (g.k(), g.out_pixels());
    let per = per_task(g.n, threads);
    // The pixel order and skip ranges of a full chunk, built once; only a shorter last chunk of a task
    // builds its own.
    let by_row = |imgs: usize| (padded.pixels_by_row(g, imgs), Padded::filter_depths(g, imgs));
    let full = (g.oc != PANEL).then(|| by_row(chunk));
    let partial = |t: usize| -> Result<Vec<f32>> {
        let mut acc = vec![0.0f32; k * g.oc];
        let (first, last) = ((t * per).min(g.n), ((t + 1) * per).min(g.n));
        for start in (first..last).step_by(chunk) {
            let imgs = chunk.min(last - start);
            let src = &x[start * g.image_len()..][..imgs * g.image_len()];
            let grads = &dy[start * pixels * g.oc..][..imgs * pixels * g.oc];
            pool.with::<f32, _>(imgs * padded.image_len(g), |buf| {
                padded.fill(g, src, buf);
                let cols = &origins[..imgs * pixels];
                let dims = (k, g.oc, imgs * pixels);
                if g.oc == PANEL {
                    // Already in panel layout (conv1's 6 MB of gradients would be copied for nothing).
                    return gather_gemm(dims, &mut acc, true, buf, &windows, cols, None, grads);
                }
                let short;
                let ((cols, dy_rows), depths) = match &full {
                    Some(tables) if imgs == chunk => tables,
                    _ => {
                        short = by_row(imgs);
                        &short
                    }
                };
                pool.with::<f32, _>(panels_len(imgs * pixels, g.oc), |panels| {
                    pack_panels_gathered(grads, g.oc, dy_rows, panels)?;
                    gather_gemm(dims, &mut acc, true, buf, &windows, cols, Some(depths), panels)
                })
            })?;
        }
        Ok(acc)
    };
    let tasks = g.n.div_ceil(per);
    let parts: Vec<Vec<f32>> = if threads > 1 && tasks > 1 {
        (0..tasks).into_par_iter().map(partial).collect::<Result<_>>()?
    } else {
        (0..tasks).map(partial).collect::<Result<_>>()?
    };
    dw.fill(0.0);
    for part in parts {
        for (d, v) in dw.iter_mut().zip(part) {
            *d += v;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};

    /// The three convolutions by their definitions, in f64: (output, input gradient, filter gradient).
    fn reference(g: &Geom, x: &[f32], w: &[f32], dy: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut out = vec![0.0; g.n * g.out_pixels() * g.oc];
        let mut dx = vec![0.0; x.len()];
        let mut dw = vec![0.0; w.len()];
        for b in 0..g.n {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for ki in 0..g.kh {
                        for kj in 0..g.kw {
                            let (Some(y), Some(xx)) = (g.in_y(oy, ki), g.in_x(ox, kj)) else { continue };
                            for c in 0..g.c {
                                let xi = ((b * g.h + y) * g.w + xx) * g.c + c;
                                for o in 0..g.oc {
                                    let (oi, wi) = (
                                        ((b * g.oh + oy) * g.ow + ox) * g.oc + o,
                                        ((ki * g.kw + kj) * g.c + c) * g.oc + o,
                                    );
                                    out[oi] += f64::from(x[xi]) * f64::from(w[wi]);
                                    dx[xi] += f64::from(dy[oi]) * f64::from(w[wi]);
                                    dw[wi] += f64::from(dy[oi]) * f64::from(x[xi]);
                                }
                            }
                        }
                    }
                }
            }
        }
        (out, dx, dw)
    }

    /// Output memory holding NaN, so an element the kernel does not write fails the comparison.
    fn poisoned(len: usize) -> Vec<MaybeUninit<f32>> {
        vec![MaybeUninit::new(f32::NAN); len]
    }

    fn read(values: &[MaybeUninit<f32>]) -> Vec<f32> {
        // Safety: `poisoned` initialized every element.
        values.iter().map(|v| unsafe { v.assume_init() }).collect()
    }

    fn close(got: &[f32], expected: &[f64], what: &str) {
        assert_eq!(got.len(), expected.len(), "{what}");
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            assert!((f64::from(*g) - e).abs() <= 1e-4 * (1.0 + e.abs()), "{what}[{i}]: {g} vs {e}");
        }
    }

    /// Each path against the definition on geometries with padding on every side, strides, dilations,
    /// one input channel (conv1 of the reference CNN), channel counts that leave partial tiles and
    /// panels, and several chunks per task.
    #[test]
    fn implicit_gemm_convolutions_match_the_definition() -> Result<()> {
        let dilated = Conv2DOptions { strides: [1, 1], dilations: [2, 2], padding: Padding::Same };
        let strided = Conv2DOptions { strides: [2, 1], dilations: [1, 1], padding: Padding::Same };
        // Output row 0's windows (input rows -1 and 2 of 2) lie wholly in the padding, a whole tile of
        // them: written as zeros.
        let empty_window = Conv2DOptions { strides: [1, 1], dilations: [3, 1], padding: Padding::Same };
        let cases = [
            ([3, 7, 6, 1], [5, 5, 1, 32], Conv2DOptions::new(1, Padding::Same)),
            ([2, 6, 5, 33], [3, 3, 33, 40], Conv2DOptions::new(1, Padding::Same)),
            ([2, 6, 7, 3], [2, 4, 3, 5], Conv2DOptions::new(1, Padding::Same)),
            ([2, 7, 7, 4], [3, 2, 4, 6], Conv2DOptions::new(1, Padding::Valid)),
            ([2, 9, 8, 3], [3, 3, 3, 7], dilated),
            ([3, 9, 8, 5], [3, 3, 5, 9], strided),
            ([2, 9, 9, 2], [3, 3, 2, 4], Conv2DOptions::new(2, Padding::Valid)),
            ([9, 20, 20, 24], [3, 3, 24, 17], Conv2DOptions::new(1, Padding::Same)),
            ([2, 2, 9, 2], [2, 2, 2, 3], empty_window),
        ];
        if !gather_gemm_available() {
            return Ok(()); // Nothing here runs without AVX-512; conv.rs's tests cover the im2col path.
        }
        let pool = ScratchPool::default();
        for (xs, ws, opts) in cases {
            let g = Geom::new(&xs, &ws, opts, "test")?;
            let x: Vec<f32> = (0..g.n * g.image_len()).map(|i| ((i * 7) % 11) as f32 / 11.0 - 0.5).collect();
            let w: Vec<f32> = (0..g.k() * g.oc).map(|i| ((i * 5) % 13) as f32 / 13.0 - 0.5).collect();
            let dy: Vec<f32> =
                (0..g.n * g.out_pixels() * g.oc).map(|i| ((i * 3) % 7) as f32 / 7.0 - 0.5).collect();
            let (out, dx, dw) = reference(&g, &x, &w, &dy);
            let unit = (g.sh, g.sw, g.dh, g.dw) == (1, 1, 1, 1);
            for threads in [1, 2, 3] {
                let what = format!("{xs:?} {ws:?} {opts:?} threads {threads}");
                let mut got = poisoned(out.len());
                assert!(forward(&g, &x, &w, &mut got, None, threads, &pool)?);
                close(&read(&got), &out, &format!("forward {what}"));
                let mut got = poisoned(dx.len());
                assert_eq!(backprop_input(&g, &w, &dy, &mut got, threads, &pool)?, unit, "{what}");
                if unit {
                    close(&read(&got), &dx, &format!("input gradient {what}"));
                }
                let mut got = vec![f32::NAN; dw.len()];
                assert!(backprop_filter(&g, &x, &dy, &mut got, threads, &pool)?);
                close(&got, &dw, &format!("filter gradient {what}"));
            }
        }
        Ok(())
    }

    /// A fixed thread count gives the same bits every run (the filter gradient's partial sums are
    /// added in task order).
    #[test]
    fn results_repeat_bit_for_bit() -> Result<()> {
        let g = Geom::new(&[8, 10, 10, 16], &[5, 5, 16, 32], Conv2DOptions::new(1, Padding::Same), "test")?;
        let x: Vec<f32> = (0..g.n * g.image_len()).map(|i| (i as f32 * 0.37).sin()).collect();
        let dy: Vec<f32> = (0..g.n * g.out_pixels() * g.oc).map(|i| (i as f32 * 0.11).cos()).collect();
        let pool = ScratchPool::default();
        let run = || -> Result<Vec<f32>> {
            let mut dw = vec![0.0; g.k() * g.oc];
            backprop_filter(&g, &x, &dy, &mut dw, 2, &pool)?;
            Ok(dw)
        };
        let first = run()?;
        for _ in 0..5 {
            assert_eq!(run()?, first);
        }
        Ok(())
    }
}
