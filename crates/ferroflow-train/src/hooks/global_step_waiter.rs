//! `GlobalStepWaiterHook`: delays a worker's first run until the global step reaches a value (TF's
//! `tf.train.GlobalStepWaiterHook`).

use super::{global_step_read, read_step};
use crate::{SessionRunArgs, SessionRunContext, SessionRunHook};
use ferroflow_core::Result;
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::Session;
use std::time::Duration;

/// How the hook waits between two polls of the global step.
type Wait = Box<dyn FnMut(&mut dyn Session, Duration) -> Result<()> + Send>;

/// Before the first run, polls the global step every 0.5 s until it reaches `wait_until_step` (TF uses
/// it to start workers gradually); later runs pass through. Never adds fetches.
///
/// ```
/// use ferroflow_train::hooks::GlobalStepWaiterHook;
/// let hook = GlobalStepWaiterHook::new(0); // does not wait
/// # let _ = hook;
/// ```
pub struct GlobalStepWaiterHook {
    wait_until_step: i64,
    started: bool,
    gs: Option<Output>,
    wait: Wait,
}

impl std::fmt::Debug for GlobalStepWaiterHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalStepWaiterHook")
            .field("wait_until_step", &self.wait_until_step)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl GlobalStepWaiterHook {
    /// A hook waiting for `wait_until_step` (`<= 0`: no wait).
    pub fn new(wait_until_step: i64) -> Self {
        GlobalStepWaiterHook {
            wait_until_step,
            started: false,
            gs: None,
            wait: Box::new(|_, d| {
                std::thread::sleep(d);
                Ok(())
            }),
        }
    }

    /// Waits with `wait(session, 0.5 s)` between polls. By default, `thread::sleep`. Tests use it to move
    /// the global step (TF's tests mock `time.sleep`).
    pub fn wait_with(
        mut self,
        wait: impl FnMut(&mut dyn Session, Duration) -> Result<()> + Send + 'static,
    ) -> Self {
        self.wait = Box::new(wait);
        self
    }
}

impl SessionRunHook for GlobalStepWaiterHook {
    fn name(&self) -> &str {
        "GlobalStepWaiterHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.started = false;
        self.gs = Some(global_step_read(graph, "_GlobalStepWaiterHook")?.0);
        Ok(())
    }

    fn before_run(&mut self, ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        if self.started {
            return Ok(None);
        }
        let Some(gs) = self.gs else { return Ok(None) };
        if self.wait_until_step <= 0 {
            self.started = true;
            return Ok(None);
        }
        tracing::info!("Waiting for global step {} before starting training.", self.wait_until_step);
        let mut last_logged = 0;
        loop {
            let current = read_step(ctx.session(), gs)?;
            if current >= self.wait_until_step {
                self.started = true;
                return Ok(None);
            }
            if current - last_logged > 1000 {
                tracing::info!(
                    "Waiting for global step {} before starting training. Current step is {current}.",
                    self.wait_until_step
                );
                last_logged = current;
            }
            (self.wait)(ctx.session(), Duration::from_millis(500))?;
        }
    }
}
