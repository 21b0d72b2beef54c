//! `EarlyStoppingHook` (beyond TF1): stops when a fetched metric stops improving (Keras'
//! `EarlyStopping`; TF's `stop_if_no_decrease_hook` family).

use super::{f64_of, global_step_read, step_of};
use crate::trigger::{Every, SecondOrStepTimer};
use crate::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::Fetch;
use parking_lot::Mutex;
use std::sync::Arc;

/// Which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// Evaluates `metric` every N steps or seconds of global step; a value better than the best by more
/// than `min_delta` resets the count, otherwise the count grows, and after `patience` evaluations
/// without improvement the hook requests a stop. With a threshold, it also stops as soon as the
/// metric is past it (TF's `stop_if_higher_hook`/`stop_if_lower_hook`). Evaluations before `min_steps`
/// global steps never stop.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::GraphBuilder;
/// use ferroflow_train::hooks::{EarlyStoppingHook, Mode};
/// use ferroflow_train::Every;
/// let mut g = GraphBuilder::new();
/// let loss = g.constant(Tensor::scalar(1.0f32))?;
/// // TF's stop_if_no_decrease_hook with max_steps_without_decrease=1000, run_every_steps=100.
/// let hook = EarlyStoppingHook::new(loss, Mode::Min, Every::Steps(100))?.patience(10);
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct EarlyStoppingHook {
    metric: Output,
    mode: Mode,
    timer: SecondOrStepTimer,
    patience: u64,
    min_delta: f64,
    min_steps: i64,
    threshold: Option<f64>,
    best: Arc<Mutex<Option<(i64, f64)>>>,
    waited: u64,
    gs: Option<Output>,
    triggered: bool,
}

impl EarlyStoppingHook {
    /// A hook watching `metric` in direction `mode`, evaluated on the period `every` (global steps or
    /// seconds). By default, `patience` 0 (stop at the first evaluation without improvement) and
    /// `min_delta` 0.
    ///
    /// # Errors
    /// `InvalidArgument` naming `every` for a non-positive period.
    pub fn new(metric: Output, mode: Mode, every: Every) -> Result<Self> {
        Ok(EarlyStoppingHook {
            metric,
            mode,
            timer: SecondOrStepTimer::new(every.validate("every")?)?,
            patience: 0,
            min_delta: 0.0,
            min_steps: 0,
            threshold: None,
            best: Arc::default(),
            waited: 0,
            gs: None,
            triggered: false,
        })
    }

    /// How many evaluations without improvement to allow before stopping.
    pub fn patience(mut self, evaluations: u64) -> Self {
        self.patience = evaluations;
        self
    }

    /// The smallest change that counts as an improvement.
    ///
    /// # Errors
    /// `InvalidArgument` naming `min_delta` when negative or not finite.
    pub fn min_delta(mut self, delta: f64) -> Result<Self> {
        if !(delta.is_finite() && delta >= 0.0) {
            return Err(Error::invalid_argument(format!("min_delta must be >= 0, got {delta}")));
        }
        self.min_delta = delta;
        Ok(self)
    }

    /// No stop before this global step (TF's `min_steps`).
    pub fn min_steps(mut self, steps: i64) -> Self {
        self.min_steps = steps;
        self
    }

    /// Also stop once the metric is past `threshold` (above it for `Max`, below it for `Min`).
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// The best `(step, value)` so far (a shared handle).
    pub fn best(&self) -> Arc<Mutex<Option<(i64, f64)>>> {
        Arc::clone(&self.best)
    }

    fn improves(&self, value: f64, best: f64) -> bool {
        match self.mode {
            Mode::Min => value < best - self.min_delta,
            Mode::Max => value > best + self.min_delta,
        }
    }
}

impl SessionRunHook for EarlyStoppingHook {
    fn name(&self) -> &str {
        "EarlyStoppingHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.gs = Some(global_step_read(graph, "EarlyStoppingHook")?.0);
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let Some(gs) = self.gs else { return Ok(None) };
        // The step is stale by one; deciding on `stale + 1` matches the post-run step of one-step runs.
        Ok(Some(SessionRunArgs::new(Fetch::List(vec![Fetch::Tensor(gs), Fetch::Tensor(self.metric)]))))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let Some(r) = values.results else { return Ok(()) };
        let step = step_of(r.get(0)?)? + 1;
        if !self.timer.should_trigger_for_step(step) {
            return Ok(());
        }
        self.timer.update_last_triggered_step(step);
        self.triggered = true;
        let value = f64_of(r.get(1)?)?;
        let mut best = self.best.lock();
        match *best {
            Some((_, b)) if !self.improves(value, b) => self.waited += 1,
            _ => {
                *best = Some((step, value));
                self.waited = 0;
            }
        }
        if step < self.min_steps {
            return Ok(());
        }
        let past = match (self.threshold, self.mode) {
            (Some(t), Mode::Max) => value > t,
            (Some(t), Mode::Min) => value < t,
            (None, _) => false,
        };
        if past || (best.is_some() && self.waited > self.patience) {
            tracing::info!(step, value, best = ?*best, waited = self.waited, "Early stopping: requesting stop.");
            ctx.request_stop();
        }
        Ok(())
    }
}
