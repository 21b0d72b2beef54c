//! `ProfilerHook`: traces chosen runs fully and writes Chrome-trace timelines (TF's
//! `tf.train.ProfilerHook`).

use super::{global_step_read, read_step, step_of};
use crate::trigger::{Clock, Every, SecondOrStepTimer};
use crate::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_proto::prost::Message;
use ferroflow_session::{RunMetadata, RunOptions, TraceLevel};
use ferroflow_summary::{FileWriter, SummaryWriterCache};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Every N steps or seconds (never at the first run, which only primes the timer), runs the step with
/// `FULL_TRACE` and writes `<output_dir>/timeline-<step>.json`, a Chrome trace of the step's per-node
/// statistics that chrome://tracing and Perfetto load, plus the run metadata under the tag `step_<step>`
/// in the directory's summary writer.
///
/// ```
/// use ferroflow_train::hooks::ProfilerHook;
/// use ferroflow_train::Every;
/// let hook = ProfilerHook::new(Every::Steps(100), "/tmp/profile")?;
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct ProfilerHook {
    timer: SecondOrStepTimer,
    output_dir: PathBuf,
    writer: Option<Arc<FileWriter>>,
    next_step: Option<i64>,
    request: bool,
    gs: Option<Output>,
}

impl ProfilerHook {
    /// A hook writing timelines to `output_dir` on the period `every`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `save_secs`/`save_steps` for a non-positive period.
    pub fn new(every: Every, output_dir: impl Into<PathBuf>) -> Result<Self> {
        let arg = match every {
            Every::Secs(_) => "save_secs",
            Every::Steps(_) => "save_steps",
        };
        Ok(ProfilerHook {
            timer: SecondOrStepTimer::new(every.validate(arg)?)?,
            output_dir: output_dir.into(),
            writer: None,
            next_step: None,
            request: false,
            gs: None,
        })
    }

    /// Reads time from `clock` (tests). By default, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.timer = self.timer.with_clock(clock);
        self
    }
}

/// The Chrome trace (`{"traceEvents": [...]}`) of a run's step statistics: one process per device, one
/// complete (`"ph": "X"`) event per node execution, in microseconds.
pub fn chrome_trace_json(metadata: &RunMetadata) -> Value {
    let mut events = Vec::new();
    for (pid, dev) in metadata.step_stats.dev_stats.iter().enumerate() {
        events.push(json!({
            "name": "process_name", "ph": "M", "pid": pid,
            "args": {"name": format!("/device:{} Compute", dev.device)}
        }));
        for n in &dev.node_stats {
            let dur = (n.all_end_rel_micros).max(n.duration_nanos / 1000).max(1);
            events.push(json!({
                "name": n.op_type, "cat": "Op", "ph": "X", "pid": pid, "tid": n.thread_id,
                "ts": n.all_start_micros, "dur": dur,
                "args": {"name": n.node_name, "op": n.op_type}
            }));
        }
    }
    json!({ "traceEvents": events })
}

impl SessionRunHook for ProfilerHook {
    fn name(&self) -> &str {
        "ProfilerHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.writer = Some(SummaryWriterCache::get(&self.output_dir)?);
        self.next_step = None;
        self.gs = Some(global_step_read(graph, "ProfilerHook")?.0);
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let Some(gs) = self.gs else { return Ok(None) };
        self.request = self.next_step.is_some_and(|n| self.timer.should_trigger_for_step(n));
        let args = SessionRunArgs::new(gs);
        Ok(Some(if self.request {
            args.with_options(RunOptions { trace_level: TraceLevel::FullTrace, ..Default::default() })
        } else {
            args
        }))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let (Some(gs), Some(r)) = (self.gs, values.results) else { return Ok(()) };
        let stale = step_of(r)?;
        if self.next_step.is_none() {
            // Primes the timer so the first run is never traced (TF).
            self.timer.update_last_triggered_step(stale);
        }
        let mut step = stale + 1;
        if self.request {
            step = read_step(ctx.session(), gs)?;
            self.timer.update_last_triggered_step(step);
            let path = self.output_dir.join(format!("timeline-{step}.json"));
            let trace = serde_json::to_vec(&chrome_trace_json(values.run_metadata))
                .map_err(|e| Error::internal(format!("timeline of step {step}: {e}")))?;
            std::fs::create_dir_all(&self.output_dir)?;
            std::fs::write(&path, trace)?;
            if let Some(w) = &self.writer {
                w.add_run_metadata(
                    &values.run_metadata.to_proto().encode_to_vec(),
                    &format!("step_{step}"),
                    step,
                )?;
            }
        }
        self.next_step = Some(step + 1);
        Ok(())
    }
}
