//! `StepCounterHook`: global steps per second, as a summary and a log line (TF's
//! `tf.train.StepCounterHook`).

use super::{global_step_read, read_step, step_of, SummaryOutput};
use crate::trigger::{Clock, Every, SecondOrStepTimer};
use crate::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::Result;
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_summary::FileWriter;
use std::sync::Arc;

/// How many times the "global step has not been increased" warning is logged (TF's `log_first_n`).
const STALL_WARNINGS: usize = 5;

/// Every N steps or seconds, computes `(steps since last) / (seconds since last)` and writes it as the
/// scalar `<global step name>/sec` (e.g. `global_step/sec`) at the true global step, and logs it. The
/// first trigger only primes the timer. Warns (the first 5 times) when a run did not advance the step.
///
/// ```
/// use ferroflow_train::hooks::StepCounterHook;
/// use ferroflow_train::Every;
/// let hook = StepCounterHook::new(Every::Steps(100))?.output("/tmp/logs");
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct StepCounterHook {
    timer: SecondOrStepTimer,
    output: Option<SummaryOutput>,
    writer: Option<Arc<FileWriter>>,
    steps_per_run: i64,
    last_global_step: Option<i64>,
    stall_warnings: usize,
    gs: Option<Output>,
    tag: String,
    last_rate: Option<f64>,
}

impl StepCounterHook {
    /// A hook measuring on the period `every` (TF's default: `Every::Steps(100)`), logging only until
    /// [`output`](Self::output) is set.
    ///
    /// # Errors
    /// `InvalidArgument` naming `every_n_steps`/`every_n_secs` for a non-positive period.
    pub fn new(every: Every) -> Result<Self> {
        let arg = match every {
            Every::Secs(_) => "every_n_secs",
            Every::Steps(_) => "every_n_steps",
        };
        Ok(StepCounterHook {
            timer: SecondOrStepTimer::new(every.validate(arg)?)?,
            output: None,
            writer: None,
            steps_per_run: 1,
            last_global_step: None,
            stall_warnings: 0,
            gs: None,
            tag: String::new(),
            last_rate: None,
        })
    }

    /// Also writes the rate as a summary to this directory or writer. By default, only logs.
    pub fn output(mut self, output: impl Into<SummaryOutput>) -> Self {
        self.output = Some(output.into());
        self
    }

    /// How many global steps one run advances. By default, 1.
    pub fn steps_per_run(mut self, steps: i64) -> Self {
        self.steps_per_run = steps.max(1);
        self
    }

    /// Reads time from `clock` (tests). By default, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.timer = self.timer.with_clock(clock);
        self
    }

    /// The last measured rate in steps per second.
    pub fn last_rate(&self) -> Option<f64> {
        self.last_rate
    }

    /// How many stall warnings were logged (at most 5).
    pub fn stall_warnings(&self) -> usize {
        self.stall_warnings
    }
}

impl SessionRunHook for StepCounterHook {
    fn name(&self) -> &str {
        "StepCounterHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        if let Some(o) = &self.output {
            self.writer = Some(o.writer()?);
        }
        let (gs, name) = global_step_read(graph, "StepCounterHook")?;
        self.gs = Some(gs);
        self.tag = format!("{name}/sec");
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(self.gs.map(SessionRunArgs::new))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let (Some(gs), Some(r)) = (self.gs, values.results) else { return Ok(()) };
        let stale = step_of(r)?;
        if self.timer.should_trigger_for_step(stale + self.steps_per_run) {
            let step = read_step(ctx.session(), gs)?;
            if self.timer.should_trigger_for_step(step) {
                if let (Some(dt), Some(dsteps)) = self.timer.update_last_triggered_step(step) {
                    // A zero interval (a frozen test clock) would divide by zero; TF would raise.
                    let rate = if dt > 0.0 { dsteps as f64 / dt } else { f64::INFINITY };
                    self.last_rate = Some(rate);
                    if let Some(w) = &self.writer {
                        w.add_summary(&ferroflow_summary::scalar(&self.tag, rate as f32), step)?;
                    }
                    tracing::info!("{}: {rate}", self.tag);
                }
            }
        }
        if self.last_global_step == Some(stale) && self.stall_warnings < STALL_WARNINGS {
            self.stall_warnings += 1;
            tracing::warn!(
                "It seems that global step (tf.train.get_global_step) has not been increased. Current value \
                 (could be stable): {stale} vs previous value: {stale}. You could increase the global step \
                 by passing tf.train.get_global_step() to Optimizer.apply_gradients or Optimizer.minimize."
            );
        }
        self.last_global_step = Some(stale);
        Ok(())
    }
}
