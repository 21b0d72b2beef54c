//! `ferroflow train`: a digits classifier trained in a plain session loop, with checkpoints written and
//! restored through the checkpoint crate, scalar summaries through `FileWriter`, progress on stderr, a
//! clean stop on SIGTERM, and one JSON report line on stdout.
//!
//! A first version: it moves onto `MonitoredTrainingSession` and its standard hooks when they land. The
//! behaviour is theirs already: a run restores the newest complete checkpoint of `--checkpoint-dir` and
//! continues the global step up to `--steps`; checkpoints are saved every K steps or S seconds and at the
//! end; a `SessionLog` START is written at the starting step, so TensorBoard (and `ferroflow events`) drop
//! what a killed run wrote after its last checkpoint.

mod digits_model;
mod preemption;
mod progress;
mod variable_saver;

pub use digits_model::{accuracy, DigitsModel, ModelConfig};
pub use ferroflow::datasets::Digits;
pub use preemption::Preemption;
pub use progress::{Progress, StepStatus};
pub use variable_saver::VariableSaver;

use crate::cli::{DataSource, TrainArgs, TrainModel};
use crate::CliError;
use ferroflow_checkpoint::{
    latest_valid_checkpoint, BundleReader, CheckpointManager, CheckpointManagerConfig,
};
use ferroflow_core::Tensor;
use ferroflow_graph::GraphBuilder;
use ferroflow_proto::SessionLog;
use ferroflow_session::{Fetch, LocalSessionFactory, Session, SessionExt, SessionFactory, SessionOptions};
use ferroflow_summary::{scalar, FileWriter};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The fraction of the digits held out for `eval_accuracy`.
pub const EVAL_FRACTION: f64 = 0.2;

/// Seconds between checkpoints when no policy is given (MonitoredTrainingSession's default).
pub const DEFAULT_SAVE_CHECKPOINT_SECS: f64 = 600.0;

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The global step reached `--steps`.
    LastStep,
    /// SIGTERM or SIGINT: the step finished and a checkpoint was saved.
    Preempted,
}

/// The JSON line `train` ends with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// The global step reached.
    pub global_step: i64,
    /// Mean loss over the training examples at the end.
    pub loss: f32,
    /// Accuracy over the training examples at the end.
    pub train_accuracy: f64,
    /// Accuracy over the held-out examples at the end.
    pub eval_accuracy: f64,
    /// The checkpoint this run started from, if any.
    pub restored_from: Option<String>,
    /// The newest checkpoint when the run ended.
    pub checkpoint: Option<String>,
    /// Global steps per second of this run's training loop (0 when it ran no step).
    pub steps_per_sec: f64,
    /// Why it stopped.
    pub stop_reason: StopReason,
}

/// Runs the command: installs the signal handlers, trains, prints the report line on `out`.
///
/// # Errors
/// A usage error (exit 2) for bad flags, an unreadable data path or a checkpoint of another model; a
/// failure (exit 1) for anything else.
pub fn run(args: &TrainArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    check_inputs(args)?;
    let preemption =
        Preemption::install().map_err(|e| CliError::failure(format!("installing signal handlers: {e}")))?;
    let report = train(args, &preemption, err)?;
    serde_json::to_writer(&mut *out, &report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(|e| CliError::failure(format!("writing the report: {e}")))
}

/// Rejects what this version cannot train on, before anything is read or written.
///
/// # Errors
/// A usage error naming the flag.
pub fn check_inputs(args: &TrainArgs) -> Result<(), CliError> {
    match &args.data {
        DataSource::Digits => {}
        DataSource::Idx(dir) => {
            std::fs::read_dir(dir)
                .map_err(|e| CliError::usage(format!("--data idx:{}: cannot read it: {e}", dir.display())))?;
            return Err(CliError::usage("--data idx:DIR is not yet supported (only digits)"));
        }
        DataSource::TfRecord(glob) => {
            return Err(CliError::usage(format!(
                "--data tfrecord:{glob} is not yet supported (only digits)"
            )));
        }
    }
    if args.model == TrainModel::Cnn {
        return Err(CliError::usage("--model cnn is not yet supported (mlp, linear)"));
    }
    if !matches!(args.master.as_str(), "" | "local") {
        return Err(CliError::usage(format!(
            "--master {}: only in-process training (\"\" or \"local\") is supported yet",
            args.master
        )));
    }
    if args.checkpoint_dir.exists() && !args.checkpoint_dir.is_dir() {
        return Err(CliError::usage(format!(
            "--checkpoint-dir {}: not a directory",
            args.checkpoint_dir.display()
        )));
    }
    Ok(())
}

/// When checkpoints are saved during training.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SavePolicy {
    Steps(i64),
    Secs(f64),
}

/// Trains as the flags say, stopping early when `preemption` is requested.
///
/// # Errors
/// As [`run`].
pub fn train(
    args: &TrainArgs,
    preemption: &Preemption,
    err: &mut dyn Write,
) -> Result<TrainReport, CliError> {
    check_inputs(args)?;
    let (train_set, eval_set) = Digits::load()?.split(EVAL_FRACTION, args.seed);
    let config = ModelConfig {
        model: args.model,
        optimizer: args.optimizer,
        learning_rate: args.learning_rate,
        seed: args.seed,
    };
    let mut g = GraphBuilder::new();
    let model = DigitsModel::build(&mut g, &config).map_err(|e| CliError::from_input(&e))?;
    let saver = VariableSaver::build(&mut g)?;
    let graph_def = g.graph().to_graph_def_bytes();
    let graph = g.finalize();
    let mut session = LocalSessionFactory
        .new_session(&args.master, graph, &SessionOptions::default())
        .map_err(|e| CliError::from_input(&e))?;
    session.run(model.init, &[])?;

    let dir = &args.checkpoint_dir;
    let restored_from = restore(&saver, &mut *session, dir)?;
    let mut step = session.run(model.global_step.value(), &[])?.scalar::<i64>()?;
    let mut progress = Progress::new(std::io::stderr().is_terminal(), args.log_step_count_steps);
    match &restored_from {
        Some(prefix) => {
            progress.message(err, &format!("restored {} at global step {step}", prefix.display()))
        }
        None => progress.message(err, &format!("training from scratch into {}", dir.display())),
    }

    // Only the chief writes, as in MonitoredTrainingSession.
    let mut manager = if args.is_chief {
        Some(
            CheckpointManager::new(dir, CheckpointManagerConfig::default())
                .map_err(|e| CliError::from_input(&e))?,
        )
    } else {
        None
    };
    let writer = if args.is_chief && (args.save_summaries_steps > 0 || args.log_step_count_steps > 0) {
        let w = FileWriter::new(dir).map_err(|e| CliError::from_input(&e))?;
        w.add_graph(&graph_def)?;
        w.add_session_log(&SessionLog::start(), step)?;
        Some(w)
    } else {
        None
    };
    let policy = match (args.save_checkpoint_steps, args.save_checkpoint_secs) {
        (Some(k), _) => SavePolicy::Steps(i64::try_from(k).unwrap_or(i64::MAX)),
        (None, Some(s)) => SavePolicy::Secs(s),
        (None, None) => SavePolicy::Secs(DEFAULT_SAVE_CHECKPOINT_SECS),
    };
    let every = |k: u64| i64::try_from(k).unwrap_or(i64::MAX);
    let (summary_every, log_every) = (every(args.save_summaries_steps), every(args.log_step_count_steps));
    let batch = usize::try_from(args.batch_size).unwrap_or(usize::MAX);

    let mut latest = restored_from.clone();
    let mut saved_step = restored_from.as_ref().map(|_| step);
    let mut last_save = Instant::now();
    let first_step = step;
    let loop_start = Instant::now();
    let mut interval = (Instant::now(), step);
    let mut stop_reason = StopReason::LastStep;
    let fetch = Fetch::List(vec![model.train_op.into(), model.loss.into(), model.logits.into()]);
    while step < args.steps {
        if preemption.requested() {
            stop_reason = StopReason::Preempted;
            break;
        }
        // The batch is a function of the global step, so a resumed run sees what an uninterrupted one would.
        let start = usize::try_from(step).unwrap_or(0).wrapping_mul(batch) % train_set.len().max(1);
        let (xb, yb) = train_set.batch(start, batch)?;
        let labels = yb.to_vec::<i32>()?;
        let feeds = [(model.x, xb), (model.y, model.labels_tensor(&labels)?)];
        let out = session.run(fetch.clone(), &feeds)?;
        // The loss was computed from the weights at `computed_at`: summaries carry that step, as
        // SummarySaverHook's do, so a run resumed at step S rewrites exactly the points from S on.
        let computed_at = step;
        step += 1;
        let loss = out.get(1)?.scalar::<f32>()?;

        let summarize = writer.is_some() && summary_every > 0 && computed_at % summary_every == 0;
        let show = progress.wants(step);
        let batch_accuracy =
            if summarize || show { accuracy(out.get(2)?.tensor()?, &labels)? } else { f64::NAN };
        if log_every > 0 && step % log_every == 0 {
            let elapsed = interval.0.elapsed().as_secs_f64();
            let rate = if elapsed > 0.0 { (step - interval.1) as f64 / elapsed } else { 0.0 };
            interval = (Instant::now(), step);
            if let Some(w) = &writer {
                w.add_summary(&scalar("global_step/sec", rate as f32), step)?;
            }
        }
        if let (true, Some(w)) = (summarize, &writer) {
            w.add_summary(&scalar("loss", loss), computed_at)?;
            w.add_summary(&scalar("accuracy", batch_accuracy as f32), computed_at)?;
        }
        if show {
            let status = StepStatus {
                global_step: step,
                last_step: args.steps,
                loss,
                accuracy: batch_accuracy,
                // This run's average: smooth on a live line, where the summary's interval rate would
                // change only every --log-step-count-steps.
                steps_per_sec: (step - first_step) as f64 / loop_start.elapsed().as_secs_f64().max(1e-9),
            };
            progress.step(err, &status);
        }
        let due = match policy {
            SavePolicy::Steps(k) => step % k == 0,
            SavePolicy::Secs(s) => last_save.elapsed().as_secs_f64() >= s,
        };
        if let (true, Some(m)) = (due, manager.as_mut()) {
            latest = Some(save(m, &saver, &mut *session, step, writer.as_ref())?);
            saved_step = Some(step);
            last_save = Instant::now();
        }
    }
    let loop_secs = loop_start.elapsed().as_secs_f64();
    if let (true, Some(m)) = (saved_step != Some(step), manager.as_mut()) {
        latest = Some(save(m, &saver, &mut *session, step, writer.as_ref())?);
    }
    if let Some(w) = &writer {
        w.close()?;
    }
    progress.finish_line(err);
    if stop_reason == StopReason::Preempted {
        let saved = if manager.is_some() { "; checkpoint saved" } else { "" };
        progress.message(err, &format!("stopped by a signal at global step {step}{saved}"));
    }

    let (loss, train_accuracy) = evaluate(&mut *session, &model, &train_set)?;
    let (_, eval_accuracy) = evaluate(&mut *session, &model, &eval_set)?;
    let ran = step - first_step;
    Ok(TrainReport {
        global_step: step,
        loss,
        train_accuracy,
        eval_accuracy,
        restored_from: restored_from.map(|p| p.display().to_string()),
        checkpoint: latest.map(|p| p.display().to_string()),
        steps_per_sec: if ran > 0 && loop_secs > 0.0 { ran as f64 / loop_secs } else { 0.0 },
        stop_reason,
    })
}

/// Restores the newest complete checkpoint of `dir`, if there is one.
///
/// # Errors
/// A usage error when the checkpoint is of another model (nothing is changed then) or does not read.
fn restore(
    saver: &VariableSaver,
    session: &mut dyn Session,
    dir: &Path,
) -> Result<Option<PathBuf>, CliError> {
    let input = |e: ferroflow_core::Error| {
        CliError::from_input(&e).context(format!("--checkpoint-dir {}", dir.display()))
    };
    let Some(prefix) = latest_valid_checkpoint(dir).map_err(input)? else {
        return Ok(None);
    };
    let reader = BundleReader::open(&prefix).map_err(input)?;
    saver.check_compatible(&reader).map_err(|e| {
        CliError::usage(format!(
            "--checkpoint-dir {} holds a checkpoint of another model or optimizer ({}); use another directory",
            dir.display(),
            e.message()
        ))
    })?;
    saver.restore(session, &reader).map_err(input)?;
    Ok(Some(prefix))
}

fn save(
    manager: &mut CheckpointManager,
    saver: &VariableSaver,
    session: &mut dyn Session,
    step: i64,
    writer: Option<&FileWriter>,
) -> Result<PathBuf, CliError> {
    // Summaries written so far reach the file before the checkpoint exists: after a crash, the resumed
    // run rewrites everything from that checkpoint's step on, and nothing before it is lost.
    if let Some(w) = writer {
        w.flush()?;
    }
    let snapshot = saver.snapshot(session)?;
    let prefix = manager.save(Some(step), snapshot.iter().map(|(name, t)| (name.as_str(), t)))?;
    if let Some(w) = writer {
        // CheckpointSaverHook's event: the save path without the step.
        let base = manager.directory().join("model.ckpt");
        w.add_session_log(&SessionLog::checkpoint(base.display().to_string()), step)?;
    }
    Ok(prefix)
}

/// Mean loss and accuracy of the model over a whole data set.
fn evaluate(session: &mut dyn Session, model: &DigitsModel, data: &Digits) -> Result<(f32, f64), CliError> {
    let (x, y) = data.all()?;
    let labels = y.to_vec::<i32>()?;
    let feeds: [(ferroflow_graph::Output, Tensor); 2] =
        [(model.x, x), (model.y, model.labels_tensor(&labels)?)];
    let out = session.run(Fetch::List(vec![model.loss.into(), model.logits.into()]), &feeds)?;
    Ok((out.get(0)?.scalar::<f32>()?, accuracy(out.get(1)?.tensor()?, &labels)?))
}
