//! One SGD step of the reference CNN of `tf1_bench.py --model cnn` (TensorFlow: about 20 ms on the
//! 2-core dev machine): 28x28x1 -> conv5x5x32 SAME + relu -> maxpool2 -> conv5x5x64 SAME + relu ->
//! maxpool2 -> dense 10, batch 64, fed and fetched like the Python loop.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ferroflow_core::{DType, PartialShape, Result, Tensor};
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_graph::optimizer::{GradientDescentOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Output, VariableOptions};
use ferroflow_session::{DirectSession, Fetch, SessionExt, SessionOptions};
use std::hint::black_box;

const BATCH: usize = 64;

pub(crate) struct Step {
    sess: DirectSession,
    feeds: Vec<(Output, Tensor)>,
    fetch: Vec<Fetch>,
    forward: Output,
}

fn normal(stddev: f64) -> Initializer {
    Initializer::RandomNormal { mean: 0.0, stddev, seed: None }
}

/// The reference step.
pub(crate) fn build(threads: usize) -> Result<Step> {
    let mut g = GraphBuilder::new();
    g.set_random_seed(0);
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(28), Some(28), Some(1)]), "x")?;
    let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(10)]), "y")?;
    let opts = VariableOptions::default;
    let k1 = g.get_variable("k1", &[5, 5, 1, 32], DType::F32, normal(0.1), opts())?;
    let c1 = g.get_variable("c1", &[32], DType::F32, Initializer::Zeros, opts())?;
    let k2 = g.get_variable("k2", &[5, 5, 32, 64], DType::F32, normal(0.05), opts())?;
    let c2 = g.get_variable("c2", &[64], DType::F32, Initializer::Zeros, opts())?;
    let w = g.get_variable("w", &[7 * 7 * 64, 10], DType::F32, normal(0.02), opts())?;
    let bw = g.get_variable("bw", &[10], DType::F32, Initializer::Zeros, opts())?;
    let same = Conv2DOptions::new(1, Padding::Same);
    let h = g.conv2d(x, k1.value(), same)?;
    let h = g.bias_add(h, c1.value())?;
    let h = g.relu(h)?;
    let h = g.max_pool(h, [2, 2], [2, 2], Padding::Valid)?;
    let h = g.conv2d(h, k2.value(), same)?;
    let h = g.bias_add(h, c2.value())?;
    let h = g.relu(h)?;
    let h = g.max_pool(h, [2, 2], [2, 2], Padding::Valid)?;
    let h = g.reshape(h, &[-1, 7 * 7 * 64])?;
    let logits = g.matmul(h, w.value(), false, false)?;
    let logits = g.bias_add(logits, bw.value())?;
    let per_example = g.softmax_cross_entropy_with_logits(y, logits)?;
    let loss = g.reduce_mean(per_example, None, false)?;
    let train = GradientDescentOptimizer::new(0.01).minimize(&mut g, loss, None, None)?;
    let init = g.global_variables_initializer()?;
    let options = SessionOptions { intra_op_parallelism_threads: threads, ..Default::default() };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    sess.run(init, &[])?;
    // The Python benchmark's batch: uniform pixels, class (7 i) mod 10.
    let pixels: Vec<f32> = (0..BATCH * 784).map(|i| ((i * 2_654_435_761) % 1000) as f32 / 1000.0).collect();
    let mut onehot = vec![0.0f32; BATCH * 10];
    for i in 0..BATCH {
        onehot[i * 10 + (i * 7) % 10] = 1.0;
    }
    let feeds = vec![
        (x, Tensor::from_vec(&[BATCH, 28, 28, 1], pixels)?),
        (y, Tensor::from_vec(&[BATCH, 10], onehot)?),
    ];
    Ok(Step { sess, feeds, fetch: vec![Fetch::Op(train), loss.into()], forward: loss })
}

fn cnn_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("tf1_reference_cnn");
    group.sample_size(20);
    group.throughput(Throughput::Elements(BATCH as u64));
    for threads in [1usize, 2] {
        let Ok(mut step) = build(threads) else { return };
        group.bench_with_input(BenchmarkId::new("train_step", threads), &threads, |b, _| {
            b.iter(|| step.run())
        });
        group.bench_with_input(BenchmarkId::new("forward", threads), &threads, |b, _| {
            b.iter(|| black_box(step.sess.run(step.forward, &step.feeds)))
        });
    }
    group.finish();
}

impl Step {
    /// One training step, as the benchmark times it.
    pub(crate) fn run(&mut self) {
        let _ = black_box(self.sess.run(self.fetch.clone(), &self.feeds));
    }
}

criterion_group!(benches, cnn_step);
