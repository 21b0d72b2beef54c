//! One training-like step (a 128x240 @ 240x256 matmul and a sum) fed by a prefetching input pipeline
//! through `get_next`, against the same step fed a ready tensor through a placeholder.
//!
//! `input_only` is what the producer thread spends per batch (read, batch and parse 128 records): the
//! prefetched step can only match the fed one when a core is free for that work while the step runs.
//! Where the machine's cores are taken (other processes, or kernels using every core) the prefetched
//! step costs the fed step plus about `input_only`. The `_intra1` variants run kernels on one thread.
//! `fed_ready_tensor` feeds one tensor every step, hot in the cache; `fed_rotating_tensors` feeds a
//! different one each step, as a training loop's feeds and a pipeline's batches are.

use super::{files, ready_batch, spec, FLOATS};
use criterion::{criterion_group, Criterion, Throughput};
use ferroflow_core::{DType, PartialShape, Tensor};
use ferroflow_data::{
    make_one_shot_iterator, parse_example, Compression, DatasetExt, ElementSpec, IteratorContext,
    TFRecordDataset,
};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{DirectSession, SessionExt, SessionOptions};
use std::hint::black_box;

/// Distinct batches the rotating feed cycles through: 7.5 MiB, more than a core's L2.
const ROTATING_BATCHES: usize = 64;

fn step(g: &mut GraphBuilder, x: Output) -> Output {
    let w = g.constant(Tensor::from_vec(&[FLOATS, 256], vec![0.01f32; FLOATS * 256]).unwrap()).unwrap();
    let y = g.matmul(x, w, false, false).unwrap();
    g.reduce_sum(y, None, false).unwrap()
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
    // What the producer thread does per step, alone on this thread: the input cost prefetch must hide.
    let mut it = input.make_iterator(IteratorContext::default()).unwrap();
    group.bench_function("input_only", |b| b.iter(|| black_box(it.next().unwrap())));
    drop(it);

    // Default options (kernels use every core), then one intra-op thread, which leaves the producer a
    // core of its own on a small machine.
    for (suffix, options) in [
        ("", SessionOptions::default()),
        ("_intra1", SessionOptions { intra_op_parallelism_threads: 1, ..SessionOptions::default() }),
    ] {
        let mut g = GraphBuilder::new();
        let next = make_one_shot_iterator(&mut g, &ds).unwrap().get_next(&mut g).unwrap();
        let loss = step(&mut g, next[0]);
        let mut sess = DirectSession::with_options(g.finalize(), options.clone());
        group.bench_function(format!("prefetched_pipeline{suffix}"), |b| {
            b.iter(|| black_box(sess.run(loss, &[]).unwrap()))
        });
        drop(sess);

        let mut g = GraphBuilder::new();
        let x = g.placeholder(DType::F32, PartialShape::known(&[128, FLOATS]), "x").unwrap();
        let loss = step(&mut g, x);
        let mut sess = DirectSession::with_options(g.finalize(), options);
        let batch = ready_batch();
        group.bench_function(format!("fed_ready_tensor{suffix}"), |b| {
            b.iter(|| black_box(sess.run(loss, &[(x, batch.clone())]).unwrap()))
        });
        // A different ready batch each step, as in training: the one above stays in this core's cache
        // from step to step, which no input pipeline's fresh batches can.
        let batches: Vec<Tensor> = (0..ROTATING_BATCHES).map(|_| ready_batch()).collect();
        let mut next_batch = batches.iter().cycle();
        group.bench_function(format!("fed_rotating_tensors{suffix}"), |b| {
            b.iter(|| {
                let batch = next_batch.next().unwrap().clone();
                black_box(sess.run(loss, &[(x, batch)]).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, prefetch_vs_feed);
