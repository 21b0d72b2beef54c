//! `SummarySaverHook`: evaluates the summary op every N steps or seconds and writes it (TF's
//! `tf.train.SummarySaverHook`).

use super::{global_step_read, read_step, SummaryOutput};
use crate::trigger::{Clock, Every, SecondOrStepTimer};
use crate::{Scaffold, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, GraphKeys, Output};
use ferroflow_proto::{SessionLog, SessionStatus};
use ferroflow_session::{Fetch, Fetched, Session};
use ferroflow_summary::FileWriter;
use std::sync::Arc;

/// Which summaries the hook writes: one enum instead of TF's exclusive `scaffold`/`summary_op`.
#[derive(Debug, Clone)]
pub enum SummaryOp {
    /// These serialized-`Summary` tensors (TF's `summary_op`, one tensor or a list).
    Ops(Vec<Output>),
    /// The scaffold's summary op, else the graph's `summary_op` collection (what `Scaffold::finalize`
    /// fills with all summaries merged), looked up after the graph is frozen; none means the hook only
    /// writes the `START` session log.
    Scaffold(Scaffold),
}

impl From<Output> for SummaryOp {
    fn from(o: Output) -> Self {
        SummaryOp::Ops(vec![o])
    }
}

impl From<Vec<Output>> for SummaryOp {
    fn from(o: Vec<Output>) -> Self {
        SummaryOp::Ops(o)
    }
}

/// Writes summaries at the first run after each session creation and then every N steps or seconds,
/// at the true global step. At that first run it also writes `SessionLog START` at the step, so
/// TensorBoard drops the points a restarted run is about to redo (no duplicates after a restart).
///
/// On runs where it does not trigger it adds no fetch at all (TF fetches the global step on every run):
/// between triggers it counts one global step per run, as TF's `stale + 1` does, and on every trigger it
/// re-reads the true step, so a run that advances the step by more than one only shifts when the next
/// trigger comes. No summary op runs and no extra session run is made on those steps.
///
/// ```
/// use ferroflow_train::hooks::{SummaryOp, SummarySaverHook};
/// use ferroflow_train::{Every, Scaffold};
/// let hook = SummarySaverHook::new(Every::Steps(100), "/tmp/logs", SummaryOp::Scaffold(Scaffold::new()))?;
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SummarySaverHook {
    timer: SecondOrStepTimer,
    output: SummaryOutput,
    summary_op: SummaryOp,
    ops: Option<Vec<Output>>,
    writer: Option<Arc<FileWriter>>,
    next_step: Option<i64>,
    request_summary: bool,
    gs: Option<Output>,
}

impl SummarySaverHook {
    /// A hook writing `summary_op` to `output` (a directory or a writer) on the period `every`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `save_secs`/`save_steps` for a non-positive period, or `summary_op`
    /// for an empty list.
    pub fn new(
        every: Every,
        output: impl Into<SummaryOutput>,
        summary_op: impl Into<SummaryOp>,
    ) -> Result<Self> {
        let arg = match every {
            Every::Secs(_) => "save_secs",
            Every::Steps(_) => "save_steps",
        };
        let summary_op = summary_op.into();
        if matches!(&summary_op, SummaryOp::Ops(v) if v.is_empty()) {
            return Err(Error::invalid_argument("summary_op: no summary tensor given"));
        }
        Ok(SummarySaverHook {
            timer: SecondOrStepTimer::new(every.validate(arg)?)?,
            output: output.into(),
            summary_op,
            ops: None,
            writer: None,
            next_step: None,
            request_summary: false,
            gs: None,
        })
    }

    /// Reads time from `clock` (tests). By default, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.timer = self.timer.with_clock(clock);
        self
    }

    /// The summary tensors, resolved on first use after the graph is frozen.
    fn ops(&mut self, session: &dyn Session) -> &[Output] {
        if self.ops.is_none() {
            let ops = match &self.summary_op {
                SummaryOp::Ops(v) => v.clone(),
                SummaryOp::Scaffold(s) => match s.summary_op() {
                    Some(op) => vec![op],
                    None => session
                        .graph()
                        .collection(GraphKeys::SUMMARY_OP)
                        .iter()
                        .filter_map(|c| c.as_tensor())
                        .take(1)
                        .collect(),
                },
            };
            self.ops = Some(ops);
        }
        self.ops.as_deref().unwrap_or(&[])
    }
}

impl SessionRunHook for SummarySaverHook {
    fn name(&self) -> &str {
        "SummarySaverHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.writer = Some(self.output.writer()?);
        self.next_step = None;
        self.gs = Some(global_step_read(graph, "SummarySaverHook")?.0);
        Ok(())
    }

    fn after_create_session(&mut self, _: &mut dyn Session, _: &Arc<crate::Coordinator>) -> Result<()> {
        // A new session (a restart or a recovery) writes START again at its first run (TF 2.x's
        // behaviour, which issue 6 asks for: TensorBoard then hides the redone steps).
        self.next_step = None;
        Ok(())
    }

    fn before_run(&mut self, ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let Some(gs) = self.gs else { return Ok(None) };
        self.request_summary = match self.next_step {
            None => true,
            Some(n) => self.timer.should_trigger_for_step(n),
        };
        if !self.request_summary {
            // Nothing added to the run: the step is tracked locally between triggers.
            return Ok(None);
        }
        let mut fetches = vec![Fetch::Tensor(gs)];
        fetches.extend(self.ops(ctx.session()).iter().map(|&o| Fetch::Tensor(o)));
        Ok(Some(SessionRunArgs::new(Fetch::List(fetches))))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let (Some(gs), Some(writer)) = (self.gs, self.writer.as_ref()) else { return Ok(()) };
        let step = match self.next_step {
            // TF's `stale + 1`, known without a fetch: the post-run step this run was expected to reach.
            Some(n) if !self.request_summary => n,
            // The first run after a session creation, or a triggered one: the true step (TF re-reads it).
            _ => read_step(ctx.session(), gs)?,
        };
        if self.next_step.is_none() {
            let log = SessionLog { status: SessionStatus::Start as i32, ..Default::default() };
            writer.add_session_log(&log, step)?;
        }
        if self.request_summary {
            self.timer.update_last_triggered_step(step);
            if let Some(Fetched::List(items)) = values.results {
                for item in items.iter().skip(1) {
                    for s in item.tensor()?.to_vec::<Vec<u8>>()? {
                        writer.add_summary(s.as_slice(), step)?;
                    }
                }
            }
        }
        self.next_step = Some(step + 1);
        Ok(())
    }

    fn end(&mut self, _: Option<&mut dyn Session>) -> Result<()> {
        // Flush, never close: the writer is shared through the cache (TF).
        match &self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}
