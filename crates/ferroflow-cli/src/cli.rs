//! The command line: subcommands and flags (clap derive). Every flag's help text is its documentation.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// ferroflow: TensorFlow 1.x's training runtime in Rust.
#[derive(Debug, Clone, Parser)]
#[command(name = "ferroflow", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Train a digits classifier under MonitoredTrainingSession, with checkpoints, summaries and resume.
    ///
    /// Ends with one JSON line on stdout: global_step, loss, train_accuracy, eval_accuracy, restored_from,
    /// checkpoint, steps_per_sec, stop_reason ("last_step", "end_of_input" or "preempted"). SIGTERM or
    /// Ctrl-C finishes the step, saves a checkpoint and stops with stop_reason "preempted"; a second one
    /// exits at once.
    Train(TrainArgs),
    /// List the tensors of a V2 checkpoint (ferroflow's or TensorFlow's): name, dtype, shape, values.
    InspectCheckpoint(InspectCheckpointArgs),
    /// Print the scalar series per tag of a log directory's event files, as TensorBoard shows them.
    Events(EventsArgs),
    /// Time one training step of a reference model exactly as tf1_bench.py does, printing its JSON fields.
    Bench(BenchArgs),
}

/// Flags of `inspect-checkpoint`.
#[derive(Debug, Clone, Args)]
pub struct InspectCheckpointArgs {
    /// A checkpoint prefix (`DIR/model.ckpt-100`, a trailing `.index` is accepted) or a directory, which
    /// resolves to the checkpoint its `checkpoint` state file names.
    #[arg(value_name = "PREFIX|DIR")]
    pub path: PathBuf,
    /// Print one JSON document: {"prefix": ..., "tensors": [{"name", "dtype", "shape"[, "values"]}]}.
    #[arg(long)]
    pub json: bool,
    /// Also print each tensor's values, nested as its shape.
    #[arg(long)]
    pub values: bool,
}

/// Flags of `events`.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// The log directory (or a single event file). Its `*tfevents*` files are read in name order, and
    /// restarts are handled as TensorBoard does: a SessionLog START at step S drops the points at step S
    /// and later read before it.
    #[arg(value_name = "LOGDIR")]
    pub logdir: PathBuf,
    /// Print JSON: {tag: [[step, value], ...]}, or with --runs {run: {tag: [[step, value], ...]}}.
    #[arg(long)]
    pub json: bool,
    /// Also read every subdirectory holding event files, each as its own run named by its path relative to
    /// LOGDIR ("." for LOGDIR itself), as TensorBoard lists runs. Without it, only LOGDIR's own files.
    #[arg(long)]
    pub runs: bool,
}

/// Models of `bench` (those of tf1_bench.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchModel {
    /// 784-256-10 MLP, batch 128.
    Mlp,
    /// Two 5x5 conv layers (32, 64 channels) with max pooling and a dense layer on 28x28x1, batch 64.
    Cnn,
    /// 4->2 linear softmax, batch 8: per-step framework overhead.
    Tiny,
}

/// Modes of `bench` (those of tf1_bench.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchMode {
    /// A raw session loop.
    Session,
    /// MonitoredTrainingSession with StopAtStep, StepCounter (every 100 steps) and CheckpointSaver (every
    /// 100 steps, into a fresh temporary directory) hooks.
    Monitored,
    /// As monitored, without the CheckpointSaver hook.
    MonitoredNockpt,
    /// MonitoredTrainingSession with only StopAtStep.
    MonitoredNohooks,
}

impl BenchModel {
    /// The name tf1_bench.py uses.
    pub fn name(self) -> &'static str {
        match self {
            BenchModel::Mlp => "mlp",
            BenchModel::Cnn => "cnn",
            BenchModel::Tiny => "tiny",
        }
    }
}

impl BenchMode {
    /// The name tf1_bench.py uses.
    pub fn name(self) -> &'static str {
        match self {
            BenchMode::Session => "session",
            BenchMode::Monitored => "monitored",
            BenchMode::MonitoredNockpt => "monitored-nockpt",
            BenchMode::MonitoredNohooks => "monitored-nohooks",
        }
    }
}

/// Flags of `bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The reference model.
    #[arg(long, value_enum, default_value_t = BenchModel::Mlp)]
    pub model: BenchModel,
    /// The training loop around the step.
    #[arg(long, value_enum, default_value_t = BenchMode::Session)]
    pub mode: BenchMode,
    /// Timed steps.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    /// Untimed steps before them.
    #[arg(long, default_value_t = 20)]
    pub warmup: u64,
    /// Intra- and inter-op threads (0: the runtime's default), as tf1_bench.py's --threads.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Where `train` reads examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// The digits embedded in the binary.
    Digits,
    /// MNIST IDX files in a directory.
    Idx(PathBuf),
    /// TFRecord files of Examples with `image` and `label` features.
    TfRecord(String),
}

impl DataSource {
    /// Parses `digits`, `idx:DIR` or `tfrecord:GLOB`.
    ///
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(text: &str) -> Result<DataSource, String> {
        if text == "digits" {
            return Ok(DataSource::Digits);
        }
        match text.split_once(':') {
            Some(("idx", dir)) if !dir.is_empty() => Ok(DataSource::Idx(PathBuf::from(dir))),
            Some(("tfrecord", glob)) if !glob.is_empty() => Ok(DataSource::TfRecord(glob.to_string())),
            _ => Err(format!("'{text}' is not one of: digits, idx:DIR, tfrecord:GLOB")),
        }
    }
}

/// Models of `train`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainModel {
    /// One hidden layer of 128 ReLU units.
    Mlp,
    /// Two 3x3 convolutions (16, 32 channels) with ReLU and 2x2 max pooling, then a dense layer (square or
    /// IDX images).
    Cnn,
    /// Softmax regression.
    Linear,
}

/// Optimizers of `train`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerKind {
    /// Plain gradient descent.
    Sgd,
    /// Momentum 0.9.
    Momentum,
    /// Adam (beta1 0.9, beta2 0.999, epsilon 1e-8).
    Adam,
}

/// Flags of `train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Training data: `digits` (embedded, 1797 8x8 images; 20% held out for eval), `idx:DIR` (MNIST IDX
    /// files train-images-idx3-ubyte and train-labels-idx1-ubyte, optionally .gz; eval on t10k-* when
    /// there, else on the training files) or `tfrecord:GLOB` (TFRecord files of tf.train.Examples with a
    /// float list `image` and an int64 `label`; eval on the same files). File data is read by the input
    /// pipeline, shuffled, for --epochs passes; its end stops training with stop_reason "end_of_input".
    /// Accuracies on file data are measured on the first 10,000 examples of the files.
    #[arg(long, default_value = "digits", value_parser = DataSource::parse, value_name = "digits|idx:DIR|tfrecord:GLOB")]
    pub data: DataSource,
    /// The model.
    #[arg(long, value_enum, default_value_t = TrainModel::Mlp)]
    pub model: TrainModel,
    /// The last global step: training stops when the global step reaches it. A rerun with a larger value
    /// resumes from the latest checkpoint; with the same value it finishes at once.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..))]
    pub steps: i64,
    /// Examples per step.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: u64,
    /// Passes over file data (idx:, tfrecord:) before end of input. The embedded digits are cycled until
    /// --steps instead.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: u64,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05, value_parser = positive_f64)]
    pub learning_rate: f64,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerKind::Momentum)]
    pub optimizer: OptimizerKind,
    /// Graph-level random seed (initial weights) and seed of the train/eval split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where checkpoints (`model.ckpt-N`, the last 5 kept) and event files go, and where training resumes
    /// from.
    #[arg(long, default_value = "runs/digits", value_name = "DIR")]
    pub checkpoint_dir: PathBuf,
    /// Save a checkpoint every K global steps (and at the end). Default, when neither this nor
    /// --save-checkpoint-secs is given: every 600 seconds, as MonitoredTrainingSession.
    #[arg(long, value_name = "K", conflicts_with = "save_checkpoint_secs", value_parser = clap::value_parser!(u64).range(1..))]
    pub save_checkpoint_steps: Option<u64>,
    /// Save a checkpoint every S seconds (and at the end).
    #[arg(long, value_name = "S", value_parser = positive_f64)]
    pub save_checkpoint_secs: Option<f64>,
    /// Write the loss and accuracy summaries every K global steps (0: never).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub save_summaries_steps: u64,
    /// Log progress and the global_step/sec summary every K global steps (0: never).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub log_step_count_steps: u64,
    /// The session target passed to MonitoredTrainingSession: "" or "local" for in-process (gRPC targets
    /// are not supported yet).
    #[arg(long, default_value = "")]
    pub master: String,
    /// Whether this task is the chief, which initializes or restores the model, saves checkpoints and
    /// writes summaries, as MonitoredTrainingSession's is_chief. A non-chief needs a master shared with a
    /// chief, so only true is accepted with an in-process master.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    pub is_chief: bool,
}

fn positive_f64(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{text} is not a positive number")),
        Err(e) => Err(format!("{text}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn parser_is_consistent() {
        Cli::command().debug_assert();
        assert_eq!(DataSource::parse("idx:/d"), Ok(DataSource::Idx(PathBuf::from("/d"))));
        assert!(DataSource::parse("csv:x").is_err());
        assert!(positive_f64("0").is_err());
    }
}
