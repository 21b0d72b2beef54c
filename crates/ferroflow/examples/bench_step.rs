//! Times one SGD step of a `tf1_bench.py` reference model in a raw session and prints the same JSON
//! fields as `tf1_bench.py --mode session`.
//! Usage: bench_step --model mlp|cnn|tiny [--steps 200] [--warmup 20] [--threads 0]

use ferroflow::prelude::*;
use ferroflow::{build_reference, reference_batch, ReferenceModel};

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
    let (steps, warmup, threads) =
        (parse("--steps", "200")?, parse("--warmup", "20")?, parse("--threads", "0")?);
    let mut g = GraphBuilder::new();
    let m = build_reference(&mut g, model)?;
    let options = SessionOptions { intra_op_parallelism_threads: threads, ..Default::default() };
    let mut sess = DirectSession::with_options(g.finalize(), options);
    sess.run(m.init, &[])?;
    let (xb, yb) = reference_batch(model)?;
    let feeds = [(m.x, xb), (m.y, yb)];
    let fetch = Fetch::List(vec![m.train_op.into(), m.loss.into()]);
    let mut times = Vec::with_capacity(steps);
    let mut loss = 0.0f32;
    for i in 0..warmup + steps {
        let t = std::time::Instant::now();
        let out = sess.run(fetch.clone(), &feeds)?;
        if i >= warmup {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        loss = out.get(1)?.scalar::<f32>()?;
    }
    times.sort_by(f64::total_cmp);
    let n = times.len().max(1);
    let median = if n % 2 == 1 { times[n / 2] } else { (times[n / 2 - 1] + times[n / 2]) / 2.0 };
    let mean = times.iter().sum::<f64>() / n as f64;
    let p95 = times[(n - 1).min((0.95 * n as f64) as usize)];
    println!(
        "{{\"framework\":\"ferroflow\",\"model\":\"{}\",\"mode\":\"session\",\"batch\":{},\"threads\":{threads},\"final_loss\":{loss},\"median_ms\":{median},\"mean_ms\":{mean},\"p95_ms\":{p95},\"max_ms\":{},\"min_ms\":{},\"n\":{n}}}",
        arg(&args, "--model", "mlp"),
        model.batch(),
        times.last().copied().unwrap_or(0.0),
        times.first().copied().unwrap_or(0.0),
    );
    Ok(())
}
