//! Times one SGD step of a `tf1_bench.py` reference model (`mlp`, `cnn` or `tiny`) in a raw
//! `DirectSession` and prints the JSON fields `tf1_bench.py --mode session` prints, so
//! `scripts/compare_tf.sh` can put the two side by side. The facade's `bench_step` has no CNN; this one
//! lives next to the kernels it measures.
//!
//! Usage: step_time --model mlp|cnn|tiny [--steps 200] [--warmup 20] [--threads 0] [--profile]
//! [--nodes]
//!
//! `--profile` traces the timed steps and prints, per op type, the summed kernel time per step (to
//! stderr), to see where a step goes; `--nodes` does the same per node.

use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_graph::optimizer::{GradientDescentOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, VariableOptions};
use ferroflow_session::{DirectSession, RunOptions, RunRequest, Session, SessionOptions, TraceLevel};
use std::collections::HashMap;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

struct Model {
    x: Output,
    y: Output,
    loss: Output,
    train: Operation,
    init: Operation,
    batch: usize,
    features: Vec<usize>,
    classes: usize,
}

fn normal(stddev: f64) -> Initializer {
    Initializer::RandomNormal { mean: 0.0, stddev, seed: None }
}

/// The graphs of `tf1_bench.py::build`, op for op.
fn build(g: &mut GraphBuilder, model: &str) -> Result<Model> {
    g.set_random_seed(0);
    let global_step = g.get_or_create_global_step()?;
    let opts = VariableOptions::default;
    let (x, y, logits, batch, features, classes) = match model {
        "mlp" => {
            let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(784)]), "x")?;
            let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(10)]), "y")?;
            let w1 = g.get_variable("w1", &[784, 256], DType::F32, normal(0.05), opts())?;
            let b1 = g.get_variable("b1", &[256], DType::F32, Initializer::Zeros, opts())?;
            let w2 = g.get_variable("w2", &[256, 10], DType::F32, normal(0.05), opts())?;
            let b2 = g.get_variable("b2", &[10], DType::F32, Initializer::Zeros, opts())?;
            let xw = g.matmul(x, w1.value(), false, false)?;
            let pre = g.add(xw, b1.value())?;
            let h = g.relu(pre)?;
            let hw = g.matmul(h, w2.value(), false, false)?;
            (x, y, g.add(hw, b2.value())?, 128, vec![784], 10)
        }
        "cnn" => {
            let x =
                g.placeholder(DType::F32, PartialShape::new(vec![None, Some(28), Some(28), Some(1)]), "x")?;
            let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(10)]), "y")?;
            let k1 = g.get_variable("k1", &[5, 5, 1, 32], DType::F32, normal(0.1), opts())?;
            let c1 = g.get_variable("c1", &[32], DType::F32, Initializer::Zeros, opts())?;
            let k2 = g.get_variable("k2", &[5, 5, 32, 64], DType::F32, normal(0.05), opts())?;
            let c2 = g.get_variable("c2", &[64], DType::F32, Initializer::Zeros, opts())?;
            let w = g.get_variable("w", &[7 * 7 * 64, 10], DType::F32, normal(0.02), opts())?;
            let bw = g.get_variable("bw", &[10], DType::F32, Initializer::Zeros, opts())?;
            let same = Conv2DOptions::new(1, Padding::Same);
            let h = g.conv2d(x, k1.value(), same)?;
            let h = g.add(h, c1.value())?;
            let h = g.relu(h)?;
            let h = g.max_pool(h, [2, 2], [2, 2], Padding::Valid)?;
            let h = g.conv2d(h, k2.value(), same)?;
            let h = g.add(h, c2.value())?;
            let h = g.relu(h)?;
            let h = g.max_pool(h, [2, 2], [2, 2], Padding::Valid)?;
            let h = g.reshape(h, &[-1, 7 * 7 * 64])?;
            let logits = g.matmul(h, w.value(), false, false)?;
            (x, y, g.add(logits, bw.value())?, 64, vec![28, 28, 1], 10)
        }
        "tiny" => {
            let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(4)]), "x")?;
            let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(2)]), "y")?;
            let w = g.get_variable("w", &[4, 2], DType::F32, normal(0.05), opts())?;
            (x, y, g.matmul(x, w.value(), false, false)?, 8, vec![4], 2)
        }
        other => return Err(Error::invalid_argument(format!("unknown model '{other}' (mlp, cnn, tiny)"))),
    };
    let xent = g.softmax_cross_entropy_with_logits(y, logits)?;
    let loss = g.reduce_mean(xent, None, false)?;
    let train = GradientDescentOptimizer::new(0.01).minimize(g, loss, Some(&global_step), None)?;
    let init = g.global_variables_initializer()?;
    Ok(Model { x, y, loss, train, init, batch, features, classes })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let name = arg(&args, "--model", "mlp");
    let parse = |flag: &str, default: &str| {
        arg(&args, flag, default)
            .parse::<usize>()
            .map_err(|e| Error::invalid_argument(format!("{flag}: {e}")))
    };
    let (steps, warmup, threads) =
        (parse("--steps", "200")?, parse("--warmup", "20")?, parse("--threads", "0")?);
    let by_node = args.iter().any(|a| a == "--nodes");
    let profile = by_node || args.iter().any(|a| a == "--profile");
    let mut g = GraphBuilder::new();
    let m = build(&mut g, &name)?;
    let options = SessionOptions { intra_op_parallelism_threads: threads, ..Default::default() };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    sess.run_request(&RunRequest::new().target(m.init))?;

    // The Python benchmark's labels: class (7 i) mod classes; pixels are any values in [0, 1).
    let per_example: usize = m.features.iter().product();
    let pixels: Vec<f32> =
        (0..m.batch * per_example).map(|i| ((i * 2_654_435_761) % 1000) as f32 / 1000.0).collect();
    let mut onehot = vec![0.0f32; m.batch * m.classes];
    for i in 0..m.batch {
        onehot[i * m.classes + (i * 7) % m.classes] = 1.0;
    }
    let mut xshape = vec![m.batch];
    xshape.extend(&m.features);
    let mut request = RunRequest::new()
        .feed(m.x, Tensor::from_vec(&xshape, pixels)?)
        .feed(m.y, Tensor::from_vec(&[m.batch, m.classes], onehot)?)
        .target(m.train);
    request.fetch(m.loss);
    let mut times = Vec::with_capacity(steps);
    let mut per_op: HashMap<String, f64> = HashMap::new();
    let mut loss = 0.0f32;
    for i in 0..warmup + steps {
        if profile && i >= warmup {
            request.options = RunOptions { trace_level: TraceLevel::SoftwareTrace, ..Default::default() };
        }
        let t = std::time::Instant::now();
        let out = sess.run_request(&request)?;
        if i >= warmup {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        for dev in &out.metadata.step_stats.dev_stats {
            for n in &dev.node_stats {
                let key = if by_node { format!("{} {}", n.op_type, n.node_name) } else { n.op_type.clone() };
                *per_op.entry(key).or_default() += n.duration_nanos as f64 / 1e6;
            }
        }
        loss = out.values.first().ok_or_else(|| Error::internal("no loss"))?.scalar_value::<f32>()?;
    }
    times.sort_by(f64::total_cmp);
    let n = times.len().max(1);
    let median = if n % 2 == 1 { times[n / 2] } else { (times[n / 2 - 1] + times[n / 2]) / 2.0 };
    let mean = times.iter().sum::<f64>() / n as f64;
    let p95 = times[(n - 1).min((0.95 * n as f64) as usize)];
    if profile {
        let mut ops: Vec<_> = per_op.into_iter().collect();
        ops.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = ops.iter().map(|o| o.1).sum::<f64>() / n as f64;
        eprintln!("kernel time per step {total:.3} ms of median step {median:.3} ms");
        for (op, ms) in ops {
            eprintln!("  {op:32} {:8.3} ms", ms / n as f64);
        }
    }
    println!(
        "{{\"framework\":\"ferroflow\",\"model\":\"{name}\",\"mode\":\"session\",\"batch\":{},\"threads\":{threads},\"final_loss\":{loss},\"median_ms\":{median},\"mean_ms\":{mean},\"p95_ms\":{p95},\"max_ms\":{},\"min_ms\":{},\"n\":{n}}}",
        m.batch,
        times.last().copied().unwrap_or(0.0),
        times.first().copied().unwrap_or(0.0),
    );
    Ok(())
}
