//! The reference CNN's second convolution (batch 64, 14x14x32 -> 5x5x64 SAME) and its two gradients,
//! kernel by kernel, on one and two threads: 1.28 GFLOP each, so 2.45 ms is the 2-core AVX-512 peak
//! of the dev machine (522 GFLOP/s) and 4.9 ms the 1-core one.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ferroflow_core::Tensor;
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_session::kernels::conv::{
    conv2d_backprop_filter_compute, conv2d_backprop_input_compute, conv2d_forward, ScratchPool,
};
use std::hint::black_box;

fn values(len: usize, salt: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * 2_654_435_761 + salt) % 1000) as f32 / 1000.0 - 0.5).collect()
}

fn conv2(c: &mut Criterion) {
    let (xs, ws, ys) = ([64, 14, 14, 32], [5, 5, 32, 64], [64, 14, 14, 64]);
    let (Ok(x), Ok(w), Ok(dy)) = (
        Tensor::from_vec(&xs, values(xs.iter().product(), 1)),
        Tensor::from_vec(&ws, values(ws.iter().product(), 2)),
        Tensor::from_vec(&ys, values(ys.iter().product(), 3)),
    ) else {
        return;
    };
    let opts = Conv2DOptions::new(1, Padding::Same);
    let mut group = c.benchmark_group("cnn_conv2");
    group.sample_size(30);
    group.throughput(Throughput::Elements(2 * 64 * 14 * 14 * 64 * 5 * 5 * 32));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        let Ok(pool) = pool else { return };
        let scratch = ScratchPool::default();
        group.bench_with_input(BenchmarkId::new("forward", threads), &threads, |b, &t| {
            b.iter(|| pool.install(|| black_box(conv2d_forward::<f32>(&x, &w, opts, t, &scratch))))
        });
        group.bench_with_input(BenchmarkId::new("backprop_input", threads), &threads, |b, &t| {
            b.iter(|| {
                pool.install(|| {
                    black_box(conv2d_backprop_input_compute::<f32>(&xs, &w, &dy, opts, t, &scratch))
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("backprop_filter", threads), &threads, |b, &t| {
            b.iter(|| {
                pool.install(|| {
                    black_box(conv2d_backprop_filter_compute::<f32>(&x, &ws, &dy, opts, t, &scratch))
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, conv2);
