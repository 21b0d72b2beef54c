//! Times one SGD step of a `tf1_bench.py` reference model in a raw session and prints the same JSON
//! fields as `tf1_bench.py --mode session`.
//! Usage: bench_step --model mlp|cnn|tiny [--steps 200] [--warmup 20] [--threads 0] [--inter 0]
//!                   [--profile] [--nodes] [--no-remap]
//!
//! `--profile` traces the timed steps and prints, per op type, the summed kernel time per step (to
//! stderr), to see where a step goes; `--nodes` does the same per node. `--inter N` runs the session's
//! concurrent executor on N inter-op threads (0: in graph order). `--no-remap` runs every node with its
//! own kernel (no fused Conv2D+bias+Relu or MaxPoolGrad+ReluGrad).

use ferroflow::prelude::*;
use ferroflow::session::{RunOptions, RunRequest, TraceLevel};
use ferroflow::{build_reference, reference_batch, ReferenceModel};
use std::collections::HashMap;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let model = ReferenceModel::from_name(&arg(&args, "--model", "mlp"))?;
    let parse = |name: &str, default: &str| {
        arg(&args, name, default)
            .parse::<usize>()
            .map_err(|e| Error::invalid_argument(format!("{name}: {e}")))
    };
    let (steps, warmup, threads, inter) = (
        parse("--steps", "200")?,
        parse("--warmup", "20")?,
        parse("--threads", "0")?,
        parse("--inter", "0")?,
    );
    let by_node = args.iter().any(|a| a == "--nodes");
    let profile = by_node || args.iter().any(|a| a == "--profile");
    let mut g = GraphBuilder::new();
    let m = build_reference(&mut g, model)?;
    let options = SessionOptions {
        intra_op_parallelism_threads: threads,
        inter_op_parallelism_threads: inter,
        disable_remapping: args.iter().any(|a| a == "--no-remap"),
        ..Default::default()
    };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    sess.run(m.init, &[])?;
    let (xb, yb) = reference_batch(model)?;
    let mut request = RunRequest::new().feed(m.x, xb).feed(m.y, yb).target(m.train_op);
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
        "{{\"framework\":\"ferroflow\",\"model\":\"{}\",\"mode\":\"session\",\"batch\":{},\"threads\":{threads},\"final_loss\":{loss},\"median_ms\":{median},\"mean_ms\":{mean},\"p95_ms\":{p95},\"max_ms\":{},\"min_ms\":{},\"n\":{n}}}",
        arg(&args, "--model", "mlp"),
        model.batch(),
        times.last().copied().unwrap_or(0.0),
        times.first().copied().unwrap_or(0.0),
    );
    Ok(())
}
