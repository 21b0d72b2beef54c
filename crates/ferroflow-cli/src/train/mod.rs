//! `ferroflow train`: a digits classifier trained under `MonitoredTrainingSession`, which restores the
//! newest complete checkpoint of `--checkpoint-dir` (its scaffold's saver and session manager), saves
//! checkpoints (`CheckpointSaverHook`), writes the `loss` and `accuracy` summaries (`SummarySaverHook`)
//! and `global_step/sec` (`StepCounterHook`). The command adds `StopAtStepHook(last_step=--steps)`, the
//! `PreemptionHook` (SIGTERM or SIGINT: finish the step, save, stop), a `ProgressHook` on stderr and a
//! final evaluation, then prints one JSON report line on stdout.

mod data;
mod digits_model;
mod evaluation;

pub use data::{load, Examples, PipelineConfig, TrainData, TrainInput, CLASSES, EVAL_FRACTION, EVAL_LIMIT};
pub use digits_model::{DigitsModel, ModelConfig, ModelInput};
pub use evaluation::{EvalTensors, Evaluation, EvaluationHook};

use crate::cli::TrainArgs;
use crate::CliError;
use ferroflow_checkpoint::BundleReader;
use ferroflow_core::Tensor;
use ferroflow_data::make_one_shot_iterator;
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{Fetch, SessionExt};
use ferroflow_train::hooks::{PreemptionHook, ProgressHook, StopAt, StopAtStepHook};
use ferroflow_train::{MonitoredTrainingSession, Saver};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seconds between progress lines when stderr is not a terminal (a log file must not fill up).
const PROGRESS_LINE_SECS: f64 = 5.0;

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The global step reached `--steps`.
    LastStep,
    /// The input pipeline ran out of examples (file data, after `--epochs` passes).
    EndOfInput,
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

/// Runs the command: trains, prints the report line on `out`.
///
/// # Errors
/// A usage error (exit 2) for bad flags, an unreadable data path or a checkpoint of another model; a
/// failure (exit 1) for anything else.
pub fn run(args: &TrainArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    let report = train(args, err)?;
    serde_json::to_writer(&mut *out, &report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(|e| CliError::failure(format!("writing the report: {e}")))
}

/// Rejects flags this version cannot honour, before anything is read or written.
///
/// # Errors
/// A usage error naming the flag.
pub fn check_inputs(args: &TrainArgs) -> Result<(), CliError> {
    if !matches!(args.master.as_str(), "" | "local") {
        return Err(CliError::usage(format!(
            "--master {}: only in-process training (\"\" or \"local\") is supported yet",
            args.master
        )));
    }
    if !args.is_chief {
        // A worker waits for a chief to initialize the variables of a shared master; in-process, no
        // chief can, and MonitoredTrainingSession would wait for --max-wait-secs (two hours) in vain.
        return Err(CliError::usage(
            "--is-chief false needs a master shared with a chief; in-process training is always the chief",
        ));
    }
    if args.checkpoint_dir.exists() && !args.checkpoint_dir.is_dir() {
        return Err(CliError::usage(format!(
            "--checkpoint-dir {}: not a directory",
            args.checkpoint_dir.display()
        )));
    }
    Ok(())
}

/// Trains as the flags say.
///
/// # Errors
/// As [`run`].
pub fn train(args: &TrainArgs, err: &mut dyn Write) -> Result<TrainReport, CliError> {
    check_inputs(args)?;
    let batch = usize::try_from(args.batch_size).unwrap_or(usize::MAX);
    let data = load(&args.data, PipelineConfig { batch_size: batch, epochs: args.epochs, seed: args.seed })?;
    let config = ModelConfig {
        model: args.model,
        optimizer: args.optimizer,
        learning_rate: args.learning_rate,
        seed: args.seed,
        features: data.features,
        image: data.image,
    };
    let mut g = GraphBuilder::new();
    let (input, iterator_key) = match &data.train {
        TrainInput::Feed(_) => (ModelInput::Feed, None),
        TrainInput::Pipeline(dataset) => {
            let iterator = make_one_shot_iterator(&mut g, dataset)?;
            // The iterator's position goes into checkpoints, so a resumed run continues the epoch.
            iterator.saveable(&mut g)?;
            let next = iterator.get_next(&mut g)?;
            let (Some(&images), Some(&labels)) = (next.first(), next.get(1)) else {
                return Err(CliError::failure("the input pipeline yields no images and labels"));
            };
            (ModelInput::Pipeline(images, labels), Some(iterator.checkpoint_key()))
        }
    };
    let model = DigitsModel::build(&mut g, &config, input).map_err(|e| CliError::from_input(&e))?;
    let dir = args.checkpoint_dir.clone();
    // Checked before the session exists: a refused checkpoint leaves the directory untouched.
    let restored = compatible_checkpoint(&g, iterator_key.as_deref(), &dir)?;
    let start_step = restored.as_ref().map_or(0, |(_, step)| *step);
    let restored_from = restored.map(|(prefix, _)| prefix);

    let preemption = PreemptionHook::new(Some(dir.clone()));
    let preempted = preemption.reason();
    let tensors = EvalTensors {
        x: model.x,
        y: model.y,
        loss: model.loss,
        accuracy: model.accuracy,
        global_step: model.global_step.value(),
    };
    let evaluation_hook = EvaluationHook::new(tensors, data.train_eval.clone(), data.eval.clone());
    let evaluation = evaluation_hook.result();
    let live = std::io::stderr().is_terminal();
    let progress = ProgressHook::new(Some(args.steps))
        .value("loss", model.loss)
        .value("accuracy", model.accuracy)
        .live(live)
        .line_every_secs(PROGRESS_LINE_SECS)
        .sink(move |line| {
            // Progress is best effort: a closed stderr must not stop training.
            let mut e = std::io::stderr().lock();
            let _ = if live { write!(e, "\r{line}\x1b[K") } else { writeln!(e, "{line}") };
            let _ = e.flush();
        });
    let every = |k: u64| i64::try_from(k).unwrap_or(i64::MAX);
    let mut builder = MonitoredTrainingSession::builder(g)
        .master(args.master.clone())
        .is_chief(args.is_chief)
        .checkpoint_dir(dir.clone())
        .save_summaries_steps(Some(every(args.save_summaries_steps)))
        .log_step_count_steps(every(args.log_step_count_steps))
        .chief_only_hook(preemption)
        .hook(StopAtStepHook::new(StopAt::LastStep(args.steps))?)
        .hook(evaluation_hook);
    // A run with nothing to do shows no progress (the display would read "step 0").
    if start_step < args.steps {
        builder = builder.hook(progress);
    }
    builder = match (args.save_checkpoint_steps, args.save_checkpoint_secs) {
        (Some(k), _) => builder.save_checkpoint_steps(Some(every(k))).save_checkpoint_secs(None),
        (None, Some(s)) => builder.save_checkpoint_secs(Some(s)),
        // MonitoredTrainingSession's default: every 600 seconds.
        (None, None) => builder,
    };
    let mut session = builder
        .build()
        .map_err(|e| CliError::from_input(&e).context(format!("--checkpoint-dir {}", dir.display())))?;

    let mut step =
        session.run_step_fn(|ctx| ctx.session()?.run(model.global_step.value(), &[])?.scalar::<i64>())?;
    // Messages are best effort, as the progress display.
    let _ = match &restored_from {
        Some(prefix) => writeln!(err, "restored {} at global step {step}", prefix.display()),
        None => writeln!(err, "training from scratch into {}", dir.display()),
    };
    let first_step = step;
    let loop_start = Instant::now();
    let fetch = Fetch::List(vec![model.train_op.into(), model.loss.into()]);
    let finished = session.scope(|s| {
        // StopAtStepHook stops after a run reaching --steps; a run already there must not run at all.
        while step < args.steps && !s.should_stop()? {
            let feeds = match &data.train {
                TrainInput::Feed(examples) => feed_batch(examples, step, batch, model.x, model.y)?,
                TrainInput::Pipeline(_) => Vec::new(),
            };
            s.run(fetch.clone(), &feeds)?;
            step += 1;
        }
        Ok(())
    })?;
    let loop_secs = loop_start.elapsed().as_secs_f64();
    if live {
        let _ = writeln!(err);
    }
    let Some(evaluation) = evaluation.lock().ok().and_then(|mut e| e.take()) else {
        return Err(CliError::failure("the session closed without the final evaluation"));
    };
    let stop_reason = if preempted.lock().is_some() {
        StopReason::Preempted
    } else if finished.is_none() {
        StopReason::EndOfInput
    } else {
        StopReason::LastStep
    };
    let global_step = evaluation.global_step;
    if stop_reason == StopReason::Preempted {
        let _ = writeln!(err, "stopped by a signal at global step {global_step}; checkpoint saved");
    }
    let checkpoint = Saver::latest_checkpoint(&dir).ok().flatten();
    let ran = global_step - first_step;
    Ok(TrainReport {
        global_step,
        loss: evaluation.train_loss,
        train_accuracy: evaluation.train_accuracy,
        eval_accuracy: evaluation.eval_accuracy,
        restored_from: restored_from.map(|p| p.display().to_string()),
        checkpoint: checkpoint.map(|p| p.display().to_string()),
        steps_per_sec: if ran > 0 && loop_secs > 0.0 { ran as f64 / loop_secs } else { 0.0 },
        stop_reason,
    })
}

/// The feeds of the batch for a global step: it starts at `step * batch` (wrapping), so a resumed run
/// sees what an uninterrupted one would.
fn feed_batch(
    examples: &Examples,
    step: i64,
    batch: usize,
    x: Output,
    y: Output,
) -> ferroflow_core::Result<Vec<(Output, Tensor)>> {
    let n = examples.len().max(1);
    let start = usize::try_from(step).unwrap_or(0).wrapping_mul(batch) % n;
    let mut chunk = examples.slice(start, batch)?;
    // Wrap around the end, so every batch is full.
    while chunk.len() < batch.min(n) {
        let more = examples.slice(0, batch.min(n) - chunk.len())?;
        let features = chunk.images.shape().get(1).copied().unwrap_or(0);
        let mut values = chunk.images.to_vec::<f32>()?;
        values.extend(more.images.to_vec::<f32>()?);
        chunk.labels.extend(more.labels);
        chunk.images = Tensor::from_vec(&[chunk.labels.len(), features], values)?;
    }
    Ok(vec![(x, chunk.images), (y, Tensor::vector(chunk.labels))])
}

/// The checkpoint the session will restore (the newest complete one of `dir`) and its global step, after
/// checking that it holds every variable of this graph with the same dtype and shape (and the input
/// pipeline's position when there is one).
///
/// # Errors
/// A usage error when it belongs to another model, optimizer or data source, or does not read.
fn compatible_checkpoint(
    g: &GraphBuilder,
    iterator_key: Option<&str>,
    dir: &Path,
) -> Result<Option<(PathBuf, i64)>, CliError> {
    let input = |e: ferroflow_core::Error| {
        CliError::from_input(&e).context(format!("--checkpoint-dir {}", dir.display()))
    };
    if !dir.is_dir() {
        return Ok(None);
    }
    let Some(prefix) = Saver::latest_valid_checkpoint(dir).map_err(input)? else {
        return Ok(None);
    };
    let reader = BundleReader::open(&prefix).map_err(input)?;
    let listed = reader.list().map_err(input)?;
    let other = |why: String| {
        CliError::usage(format!(
            "--checkpoint-dir {} holds a checkpoint of another model, optimizer or data source ({why}); use another directory",
            dir.display()
        ))
    };
    for var in g.graph().global_variables() {
        let Some((_, dtype, shape)) = listed.iter().find(|(name, _, _)| *name == var.name) else {
            return Err(other(format!(
                "variable '{}' ({} {}) is not in checkpoint {}",
                var.name,
                var.dtype,
                var.shape,
                prefix.display()
            )));
        };
        if *dtype != var.dtype || shape.dims() != var.shape.dims() {
            return Err(other(format!(
                "variable '{}' is {} {} here but {dtype} {shape} in checkpoint {}",
                var.name,
                var.dtype,
                var.shape,
                prefix.display()
            )));
        }
    }
    if let Some(key) = iterator_key {
        if !listed.iter().any(|(name, _, _)| name == key) {
            return Err(other(format!("checkpoint {} has no input pipeline position", prefix.display())));
        }
    }
    let step = match g.global_step() {
        Some(gs) => {
            let t = reader.read(&gs.name).map_err(input)?;
            t.scalar_value::<i64>().or_else(|_| t.scalar_value::<i32>().map(i64::from)).map_err(input)?
        }
        None => 0,
    };
    Ok(Some((prefix, step)))
}
