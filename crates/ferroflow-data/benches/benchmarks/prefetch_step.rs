//! One training-like step (a 128x240 @ 240x256 matmul and a sum) fed by a prefetching input pipeline
//! through `get_next`, against the same step fed a ready tensor through a placeholder.
//!
//! `input_only` is what the producer thread spends per batch (read, batch and parse 128 records): the
//! prefetched step can only match the fed one when a core is free for that work while the step runs.
//! Where the machine's cores are taken (other processes, or kernels using every core) the prefetched
//! step costs the fed step plus about `input_only`. The `_intra1` variants run kernels on one thread.
//! `fed_ready_tensor` feeds one tensor every step, hot in the cache; `fed_rotating_tensors` feeds a
//! different one each step, as a training loop's feeds and a pipeline's batches are.
//!
//! `prefetched_ready_batches` prefetches the rotating feed's batches (sliced from one tensor, so the
//! producer's work is a 120 KB copy per batch): what the prefetch machinery itself costs a step.
//!
//! The `train_` variants run a real training step instead of the forward product: dense 240->256 +
//! ReLU -> 10 logits, softmax cross-entropy against the parsed labels, one gradient-descent update.
//!
//! `benches/tf_prefetch_step.py` times TensorFlow's side of the same steps.

use super::{files, ready_batch, session_memory_settings, spec, FLOATS};
use criterion::{criterion_group, Criterion, Throughput};
use ferroflow_core::{DType, PartialShape, Tensor};
use ferroflow_data::{
    batch_util, from_tensor_slices, make_one_shot_iterator, parse_example, Compression, DatasetExt,
    DatasetRef, ElementSpec, IteratorContext, TFRecordDataset,
};
use ferroflow_graph::optimizer::{GradientDescentOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, VariableOptions};
use ferroflow_session::{DirectSession, Fetch, SessionExt, SessionOptions};
use std::hint::black_box;

/// Distinct batches the rotating feed cycles through: 7.5 MiB, more than a core's L2.
const ROTATING_BATCHES: usize = 64;

fn step(g: &mut GraphBuilder, x: Output) -> Output {
    let w = g.constant(Tensor::from_vec(&[FLOATS, 256], vec![0.01f32; FLOATS * 256]).unwrap()).unwrap();
    let y = g.matmul(x, w, false, false).unwrap();
    g.reduce_sum(y, None, false).unwrap()
}

/// The training step's graph on inputs `x` `[128, 240]` and `labels` `[128]` (int64): the fetch of
/// one step (update and loss) and the variables' initializer.
fn train_step(g: &mut GraphBuilder, x: Output, labels: Output) -> (Fetch, Operation) {
    g.set_random_seed(0);
    let normal = |stddev: f64| Initializer::RandomNormal { mean: 0.0, stddev, seed: None };
    let opts = VariableOptions::default;
    let w1 = g.get_variable("w1", &[FLOATS, 256], DType::F32, normal(0.05), opts()).unwrap();
    let b1 = g.get_variable("b1", &[256], DType::F32, Initializer::Zeros, opts()).unwrap();
    let w2 = g.get_variable("w2", &[256, 10], DType::F32, normal(0.05), opts()).unwrap();
    let b2 = g.get_variable("b2", &[10], DType::F32, Initializer::Zeros, opts()).unwrap();
    let xw = g.matmul(x, w1.value(), false, false).unwrap();
    let pre = g.add(xw, b1.value()).unwrap();
    let h = g.relu(pre).unwrap();
    let hw = g.matmul(h, w2.value(), false, false).unwrap();
    let logits = g.add(hw, b2.value()).unwrap();
    let xent = g.sparse_softmax_cross_entropy_with_logits(labels, logits).unwrap();
    let loss = g.reduce_mean(xent, None, false).unwrap();
    let train_op = GradientDescentOptimizer::new(0.01).minimize(g, loss, None, None).unwrap();
    let init = g.global_variables_initializer().unwrap();
    (Fetch::List(vec![train_op.into(), loss.into()]), init)
}

/// The labels of every ready batch.
fn label_batch() -> Tensor {
    Tensor::vector((0..128).map(|i| i % 10).collect::<Vec<i64>>())
}

/// `batches` with `label_batch()` as `(x, labels)` elements, repeated, prefetched.
fn prefetched_ready(batches: &[Tensor]) -> DatasetRef {
    let labels = vec![label_batch(); batches.len()];
    let stacked = vec![batch_util::stack(batches).unwrap(), batch_util::stack(&labels).unwrap()];
    from_tensor_slices(stacked).unwrap().repeat(None).prefetch(4).unwrap()
}

/// A session whose step reads `ds` through a one-shot iterator (the forward step, or the training step
/// with its variables initialized), and the fetch of one step.
fn prefetched(ds: &DatasetRef, options: &SessionOptions, train: bool) -> (DirectSession, Fetch) {
    let mut g = GraphBuilder::new();
    let next = make_one_shot_iterator(&mut g, ds).unwrap().get_next(&mut g).unwrap();
    let (fetch, init) = if train {
        let (fetch, init) = train_step(&mut g, next[0], next[1]);
        (fetch, Some(init))
    } else {
        (Fetch::from(step(&mut g, next[0])), None)
    };
    let mut sess = DirectSession::with_options(g.finalize(), options.clone());
    if let Some(init) = init {
        sess.run(init, &[]).unwrap();
    }
    (sess, fetch)
}

fn prefetch_vs_feed(c: &mut Criterion) {
    let mut group = c.benchmark_group("step_batch128");
    group.throughput(Throughput::Elements(128));

    let spec_b = spec();
    let out_spec = ElementSpec::new(
        vec![DType::F32, DType::I64],
        vec![PartialShape::known(&[128, FLOATS]), PartialShape::known(&[128])],
    )
    .unwrap();
    let ds = TFRecordDataset::new(files(), Compression::None)
        .unwrap()
        .into_ref()
        .repeat(None)
        .batch(128, true)
        .unwrap()
        .map(out_spec, move |e| parse_example(&e[0], &spec_b))
        .unwrap();
    let input = ds.clone();
    let ds = ds.prefetch(4).unwrap();
    let batches: Vec<Tensor> = (0..ROTATING_BATCHES).map(|_| ready_batch()).collect();
    let ready = prefetched_ready(&batches);
    // What the producer thread does per step, alone on this thread: the input cost prefetch must hide.
    let _session = session_memory_settings();
    let mut it = input.make_iterator(IteratorContext::default()).unwrap();
    group.bench_function("input_only", |b| b.iter(|| black_box(it.next().unwrap())));
    drop(it);

    // Default options (kernels use every core), then one intra-op thread, which leaves the producer a
    // core of its own on a small machine.
    for (suffix, options) in [
        ("", SessionOptions::default()),
        ("_intra1", SessionOptions { intra_op_parallelism_threads: 1, ..SessionOptions::default() }),
    ] {
        for (source, dataset) in [("pipeline", &ds), ("ready_batches", &ready)] {
            for (prefix, train) in [("", false), ("train_", true)] {
                let (mut sess, fetch) = prefetched(dataset, &options, train);
                group.bench_function(format!("{prefix}prefetched_{source}{suffix}"), |b| {
                    b.iter(|| black_box(sess.run(fetch.clone(), &[]).unwrap()))
                });
            }
        }

        let mut g = GraphBuilder::new();
        let x = g.placeholder(DType::F32, PartialShape::known(&[128, FLOATS]), "x").unwrap();
        let loss = step(&mut g, x);
        let mut sess = DirectSession::with_options(g.finalize(), options.clone());
        let batch = ready_batch();
        group.bench_function(format!("fed_ready_tensor{suffix}"), |b| {
            b.iter(|| black_box(sess.run(loss, &[(x, batch.clone())]).unwrap()))
        });
        // A different ready batch each step, as in training: the one above stays in this core's cache
        // from step to step, which no input pipeline's fresh batches can.
        let mut next_batch = batches.iter().cycle();
        group.bench_function(format!("fed_rotating_tensors{suffix}"), |b| {
            b.iter(|| {
                let batch = next_batch.next().unwrap().clone();
                black_box(sess.run(loss, &[(x, batch)]).unwrap())
            })
        });
        drop(sess);

        let mut g = GraphBuilder::new();
        let x = g.placeholder(DType::F32, PartialShape::known(&[128, FLOATS]), "x").unwrap();
        let labels = g.placeholder(DType::I64, PartialShape::known(&[128]), "labels").unwrap();
        let (fetch, init) = train_step(&mut g, x, labels);
        let mut sess = DirectSession::with_options(g.finalize(), options);
        sess.run(init, &[]).unwrap();
        let label_batch = label_batch();
        let mut next_batch = batches.iter().cycle();
        group.bench_function(format!("train_fed_rotating_tensors{suffix}"), |b| {
            b.iter(|| {
                let feeds = [(x, next_batch.next().unwrap().clone()), (labels, label_batch.clone())];
                black_box(sess.run(fetch.clone(), &feeds).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, prefetch_vs_feed);
