//! `StopAtStepHook`: requests a stop at a global step (TF's `tf.train.StopAtStepHook`).

use super::{global_step_read, read_step, step_of};
use crate::{Coordinator, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::Session;
use std::sync::Arc;

/// When to stop: one enum instead of TF's two exclusive `num_steps`/`last_step` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAt {
    /// This many steps after the global step read at the first session creation (TF's docstring says
    /// "after begin()", its code counts from `after_create_session`, which is what this does).
    NumSteps(i64),
    /// When the global step reaches this value.
    LastStep(i64),
}

/// Requests a stop in the run whose post-run global step reaches the last step.
///
/// ```
/// use ferroflow_train::hooks::{StopAt, StopAtStepHook};
/// let hook = StopAtStepHook::new(StopAt::NumSteps(10))?;
/// assert_eq!(hook.last_step(), None); // known after the first session creation
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct StopAtStepHook {
    num_steps: Option<i64>,
    last_step: Option<i64>,
    gs: Option<Output>,
}

impl StopAtStepHook {
    /// A hook stopping at `at`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `num_steps` for a negative count.
    pub fn new(at: StopAt) -> Result<Self> {
        match at {
            StopAt::NumSteps(n) if n < 0 => {
                Err(Error::invalid_argument(format!("num_steps must not be negative, got {n}")))
            }
            StopAt::NumSteps(n) => Ok(StopAtStepHook { num_steps: Some(n), last_step: None, gs: None }),
            StopAt::LastStep(s) => Ok(StopAtStepHook { num_steps: None, last_step: Some(s), gs: None }),
        }
    }

    /// The step to stop at; for `NumSteps`, known after the first session creation.
    pub fn last_step(&self) -> Option<i64> {
        self.last_step
    }
}

impl SessionRunHook for StopAtStepHook {
    fn name(&self) -> &str {
        "StopAtStepHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.gs = Some(global_step_read(graph, "StopAtStepHook")?.0);
        Ok(())
    }

    fn after_create_session(&mut self, session: &mut dyn Session, _: &Arc<Coordinator>) -> Result<()> {
        // Only the first creation sets it, so a recovery does not move the target (TF's code).
        if let (None, Some(n), Some(gs)) = (self.last_step, self.num_steps, self.gs) {
            self.last_step = Some(read_step(session, gs)? + n);
        }
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(self.gs.map(SessionRunArgs::new))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let (Some(last), Some(gs), Some(r)) = (self.last_step, self.gs, values.results) else {
            return Ok(());
        };
        // The fetched value may be stale (read before the train op's increment): re-read before
        // deciding, as TF does.
        if step_of(r)? + 1 >= last && read_step(ctx.session(), gs)? >= last {
            ctx.request_stop();
        }
        Ok(())
    }
}
