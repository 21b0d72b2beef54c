//! `ferroflow bench`: one training step of a `tf1_bench.py` reference model, timed the way that script
//! times it, with the same JSON fields, so the two can be compared side by side
//! (`scripts/compare_tf.sh`).

use crate::cli::{BenchArgs, BenchMode, BenchModel};
use crate::CliError;
use ferroflow::{build_reference, reference_batch, ReferenceModel};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::{DirectSession, Fetch, SessionExt, SessionOptions};
use ferroflow_train::hooks::{CheckpointSaverHook, StepCounterHook, StopAt, StopAtStepHook};
use ferroflow_train::{Every, MonitoredTrainingSession, SessionRunHook};
use serde::Serialize;
use std::io::Write;
use std::time::Instant;

/// The JSON line `bench` prints: `tf1_bench.py`'s fields (its `tf_version` is `framework` here).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Always `"ferroflow"`.
    pub framework: &'static str,
    /// The model's name.
    pub model: &'static str,
    /// The loop's name.
    pub mode: &'static str,
    /// Examples per step.
    pub batch: usize,
    /// The `--threads` given.
    pub threads: usize,
    /// The loss fetched by the last step.
    pub final_loss: f32,
    /// Median step time of the timed steps (the mean of the middle two for an even count, as Python's
    /// `statistics.median`).
    pub median_ms: f64,
    /// Mean step time.
    pub mean_ms: f64,
    /// The step time at index `min(n - 1, int(0.95 n))` of the sorted times.
    pub p95_ms: f64,
    /// Slowest step.
    pub max_ms: f64,
    /// Fastest step.
    pub min_ms: f64,
    /// Timed steps.
    pub n: usize,
    /// The checkpoint index files left in the monitored modes' directory (absent in session mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints_written: Option<Vec<String>>,
}

/// Runs the command, printing one JSON line on `out`.
///
/// # Errors
/// A failure for a run error.
pub fn run(args: &BenchArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let report = bench(args)?;
    serde_json::to_writer(&mut *out, &report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(|e| CliError::failure(format!("writing the report: {e}")))
}

/// Times the steps as `tf1_bench.py` does: `--warmup` untimed steps, then `--steps` timed ones, each
/// feeding the same batch and fetching `[train_op, loss]`, in a raw session or under
/// `MonitoredTrainingSession` with the hooks of the mode.
///
/// # Errors
/// As [`run`].
pub fn bench(args: &BenchArgs) -> Result<BenchReport, CliError> {
    let model = match args.model {
        BenchModel::Mlp => ReferenceModel::Mlp,
        BenchModel::Cnn => ReferenceModel::Cnn,
        BenchModel::Tiny => ReferenceModel::Tiny,
    };
    let mut g = GraphBuilder::new();
    let m = build_reference(&mut g, model)?;
    let options = SessionOptions {
        intra_op_parallelism_threads: args.threads,
        inter_op_parallelism_threads: args.threads,
        ..Default::default()
    };
    let (xb, yb) = reference_batch(model)?;
    let feeds = [(m.x, xb), (m.y, yb)];
    let fetch = Fetch::List(vec![m.train_op.into(), m.loss.into()]);
    let steps = usize::try_from(args.steps).unwrap_or(usize::MAX);
    let warmup = usize::try_from(args.warmup).unwrap_or(usize::MAX);
    let total = warmup.saturating_add(steps);
    let mut times = Vec::with_capacity(steps);
    let mut final_loss = f32::NAN;
    let mut checkpoints_written = None;
    if args.mode == BenchMode::Session {
        let mut session = DirectSession::with_options(g.finalize(), options);
        session.run(m.init, &[])?;
        for i in 0..total {
            let start = Instant::now();
            let fetched = session.run(fetch.clone(), &feeds)?;
            if i >= warmup {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
            final_loss = fetched.get(1)?.scalar::<f32>()?;
        }
    } else {
        let dir = tempfile::Builder::new()
            .prefix("ferroflow_bench_")
            .tempdir()
            .map_err(|e| CliError::failure(format!("creating a temporary directory: {e}")))?;
        let last_step = i64::try_from(total).unwrap_or(i64::MAX);
        let mut hooks: Vec<Box<dyn SessionRunHook>> =
            vec![Box::new(StopAtStepHook::new(StopAt::LastStep(last_step))?)];
        if matches!(args.mode, BenchMode::Monitored | BenchMode::MonitoredNockpt) {
            hooks.push(Box::new(StepCounterHook::new(Every::Steps(100))?.output(dir.path())));
        }
        if args.mode == BenchMode::Monitored {
            hooks.push(Box::new(CheckpointSaverHook::new(dir.path(), Every::Steps(100))?));
        }
        // As tf1_bench.py: checkpoint_dir given (so it would restore), every default hook off.
        let mut session = MonitoredTrainingSession::builder(g)
            .checkpoint_dir(dir.path())
            .hooks(hooks)
            .config(options)
            .save_checkpoint_secs(None)
            .save_checkpoint_steps(None)
            .save_summaries_steps(None)
            .save_summaries_secs(None)
            .log_step_count_steps(0)
            .build()?;
        let mut i = 0;
        while !session.should_stop()? {
            let start = Instant::now();
            let fetched = session.run(fetch.clone(), &feeds)?;
            if i >= warmup {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
            final_loss = fetched.get(1)?.scalar::<f32>()?;
            i += 1;
        }
        session.close()?;
        let mut written: Vec<String> = std::fs::read_dir(dir.path())
            .map_err(|e| CliError::failure(format!("listing {}: {e}", dir.path().display())))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|name| name.starts_with("model.ckpt") && name.ends_with(".index"))
            .collect();
        written.sort();
        checkpoints_written = Some(written);
    }
    let stats = StepStats::of(times);
    Ok(BenchReport {
        framework: "ferroflow",
        model: args.model.name(),
        mode: args.mode.name(),
        batch: model.batch(),
        threads: args.threads,
        final_loss,
        median_ms: stats.median,
        mean_ms: stats.mean,
        p95_ms: stats.p95,
        max_ms: stats.max,
        min_ms: stats.min,
        n: stats.n,
        checkpoints_written,
    })
}

/// `tf1_bench.py`'s `summarize`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StepStats {
    median: f64,
    mean: f64,
    p95: f64,
    max: f64,
    min: f64,
    n: usize,
}

impl StepStats {
    fn of(mut times: Vec<f64>) -> StepStats {
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let at = |i: usize| times.get(i).copied().unwrap_or(0.0);
        let median = if n % 2 == 1 { at(n / 2) } else { (at((n / 2).saturating_sub(1)) + at(n / 2)) / 2.0 };
        StepStats {
            median,
            mean: if n > 0 { times.iter().sum::<f64>() / n as f64 } else { 0.0 },
            p95: at((n.saturating_sub(1)).min((0.95 * n as f64) as usize)),
            max: at(n.saturating_sub(1)),
            min: at(0),
            n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_pythons_statistics() {
        let s = StepStats::of(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.median, s.mean, s.p95, s.max, s.min, s.n), (2.5, 2.5, 4.0, 4.0, 1.0, 4));
        let s = StepStats::of((1..=100).map(f64::from).collect());
        assert_eq!((s.median, s.p95), (50.5, 96.0));
    }
}
