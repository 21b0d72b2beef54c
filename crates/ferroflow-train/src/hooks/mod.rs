//! The standard hooks of TF's `basic_session_run_hooks.py`, one file per hook, plus hooks beyond TF1
//! (preemption, early stopping, progress display, metric loggers). Each keeps TF's trigger semantics;
//! `spec/monitored_session.md` 1.13 is the reference.
//!
//! | hook | TF | what it does |
//! |---|---|---|
//! | [`StopAtStepHook`] | `StopAtStepHook` | stop at a global step ([`StopAt`]) |
//! | [`CheckpointSaverHook`] | `CheckpointSaverHook` | checkpoints at creation, periodically, at end; [`CheckpointSaverListener`]s |
//! | [`StepCounterHook`] | `StepCounterHook` | `global_step/sec` summary and log |
//! | [`SummarySaverHook`] | `SummarySaverHook` | summaries periodically, `SessionLog START` per session |
//! | [`LoggingTensorHook`] | `LoggingTensorHook` | logs tensors every N iterations/seconds and/or at end |
//! | [`NanTensorHook`] | `NanTensorHook` | fail, stop or roll back on a NaN loss ([`OnNan`]) |
//! | [`GlobalStepWaiterHook`] | `GlobalStepWaiterHook` | delays a worker until a global step |
//! | [`FinalOpsHook`] | `FinalOpsHook` | evaluates tensors at end |
//! | [`FeedFnHook`] | `FeedFnHook` | feeds a function's values into every run |
//! | [`ProfilerHook`] | `ProfilerHook` | full traces to Chrome-trace `timeline-<step>.json` |
//! | [`PreemptionHook`] | (beyond TF1) | SIGTERM/SIGINT: finish the step, save, stop, record why |
//! | [`EarlyStoppingHook`] | `stop_if_no_decrease_hook` family | stop when a metric stops improving |
//! | [`ProgressHook`] | (beyond TF1) | live bar on a terminal, plain lines otherwise |
//! | [`MetricLoggerHook`] | (beyond TF1) | CSV / JSON-lines rows of chosen scalars |
//!
//! Periodic hooks take an [`Every`](crate::Every) (seconds or steps, one enum instead of TF's two
//! exclusive arguments) and a [`Clock`](crate::Clock) for tests.

mod checkpoint_saver;
mod checkpoint_saver_listener;
mod early_stopping;
mod feed_fn;
mod final_ops;
mod global_step_waiter;
mod logging_tensor;
mod metric_logger;
mod nan_tensor;
mod preemption;
mod profiler;
mod progress;
mod step_counter;
mod stop_at_step;
mod summary_saver;

pub use checkpoint_saver::CheckpointSaverHook;
pub use checkpoint_saver_listener::{CheckpointSaverListener, ListenerAction};
pub use early_stopping::{EarlyStoppingHook, Mode};
pub use feed_fn::FeedFnHook;
pub use final_ops::FinalOpsHook;
pub use global_step_waiter::GlobalStepWaiterHook;
pub use logging_tensor::{Formatter, LoggingTensorHook};
pub use metric_logger::{MetricFormat, MetricLoggerHook};
pub use nan_tensor::{NanTensorHook, OnNan, NAN_LOSS_MESSAGE};
pub use preemption::{PreemptionHook, StopReason};
pub use profiler::{chrome_trace_json, ProfilerHook};
pub use progress::ProgressHook;
pub use step_counter::StepCounterHook;
pub use stop_at_step::{StopAt, StopAtStepHook};
pub use summary_saver::{SummaryOp, SummarySaverHook};

use ferroflow_core::{Error, Result};
use ferroflow_graph::{CollectionItem, Graph, GraphBuilder, Output};
use ferroflow_session::{Fetched, Session, SessionExt};
use ferroflow_summary::{FileWriter, SummaryWriterCache};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a hook writes summaries: a directory (through the process-wide [`SummaryWriterCache`], so
/// hooks writing to one directory share one event file) or a given writer. One enum instead of TF's
/// two exclusive `output_dir`/`summary_writer` arguments.
#[derive(Debug, Clone)]
pub enum SummaryOutput {
    /// A log directory; the writer comes from [`SummaryWriterCache::get`].
    Dir(PathBuf),
    /// This writer.
    Writer(Arc<FileWriter>),
}

impl SummaryOutput {
    /// The writer (opening the cached one for a directory).
    ///
    /// # Errors
    /// What creating the event file reports.
    pub fn writer(&self) -> Result<Arc<FileWriter>> {
        match self {
            SummaryOutput::Dir(d) => SummaryWriterCache::get(d),
            SummaryOutput::Writer(w) => Ok(Arc::clone(w)),
        }
    }
}

impl From<PathBuf> for SummaryOutput {
    fn from(p: PathBuf) -> Self {
        SummaryOutput::Dir(p)
    }
}

impl From<&str> for SummaryOutput {
    fn from(p: &str) -> Self {
        SummaryOutput::Dir(PathBuf::from(p))
    }
}

impl From<&std::path::Path> for SummaryOutput {
    fn from(p: &std::path::Path) -> Self {
        SummaryOutput::Dir(p.to_path_buf())
    }
}

impl From<Arc<FileWriter>> for SummaryOutput {
    fn from(w: Arc<FileWriter>) -> Self {
        SummaryOutput::Writer(w)
    }
}

/// The collection caching the global-step read tensor (TF's `_GLOBAL_STEP_READ_KEY`).
const GLOBAL_STEP_READ_KEY: &str = "global_step_read_op_cache";

/// TF's `_get_or_create_global_step_read`: one `Identity` of the global step per graph, shared by all
/// hooks, so hooks fetch a cheap read of the step next to the train op. Returns the read tensor and the
/// global step's name.
///
/// # Errors
/// `FailedPrecondition` "Global step should be created to use <hook>." when the graph has no global
/// step (TF raises `RuntimeError`).
pub(crate) fn global_step_read(g: &mut GraphBuilder, hook: &str) -> Result<(Output, String)> {
    let Some(gs) = g.global_step() else {
        return Err(Error::failed_precondition(format!("Global step should be created to use {hook}.")));
    };
    if let Some(t) = g.collection(GLOBAL_STEP_READ_KEY).iter().find_map(CollectionItem::as_tensor) {
        return Ok((t, gs.name));
    }
    let read = g.identity_named(gs.value(), &format!("{}/read_for_hooks", gs.name))?;
    g.add_to_collection(GLOBAL_STEP_READ_KEY, CollectionItem::Tensor(read))?;
    Ok((read, gs.name))
}

/// The global step as an `i64` from a fetched value (int32 or int64 steps).
pub(crate) fn step_of(f: &Fetched) -> Result<i64> {
    let t = f.tensor()?;
    t.scalar_value::<i64>().or_else(|_| t.scalar_value::<i32>().map(i64::from))
}

/// Re-reads the true global step with an extra run (what TF's hooks do before acting on a stale value).
pub(crate) fn read_step(session: &mut dyn Session, gs: Output) -> Result<i64> {
    step_of(&session.run(gs, &[])?)
}

/// Resolves a tensor name in the graph being built, with an `InvalidArgument` naming the argument when
/// it is missing (construction-time validation).
pub(crate) fn tensor_by_name(g: &GraphBuilder, arg: &str, name: &str) -> Result<Output> {
    let graph: &Graph = g.graph();
    graph
        .output_by_name(name)
        .map_err(|e| Error::invalid_argument(format!("{arg}: tensor '{name}' is not in the graph ({e})")))
}

/// The one `f32`/`f64` value of a fetched tensor, as `f64` (metrics and losses).
pub(crate) fn f64_of(f: &Fetched) -> Result<f64> {
    let t = f.tensor()?;
    t.scalar_value::<f32>()
        .map(f64::from)
        .or_else(|_| t.scalar_value::<f64>())
        .or_else(|_| t.scalar_value::<i64>().map(|v| v as f64))
        .or_else(|_| t.scalar_value::<i32>().map(f64::from))
}
