//! `_RecoverableSession`: re-creates the session stack after `Aborted`/`Unavailable` and retries.

use super::{CoordinatedSession, CoordinatedSessionCreator};
use crate::StepContext;
use ferroflow_core::{Result, Tensor};
use ferroflow_graph::Output;
use ferroflow_session::{Fetch, Fetched, RunMetadata, RunOptions};

/// Recovers from preemption errors by closing the current stack (without hooks' `end`) and creating a
/// new one through the creator, then retrying the whole run. As in TF there is no retry limit and no
/// back-off for preemptions; any other error stops the loop.
pub(crate) struct RecoverableSession {
    creator: CoordinatedSessionCreator,
    sess: Option<CoordinatedSession>,
}

impl RecoverableSession {
    pub(crate) fn new(mut creator: CoordinatedSessionCreator) -> Result<Self> {
        let sess = create(&mut creator)?;
        Ok(RecoverableSession { creator, sess: Some(sess) })
    }

    pub(crate) fn current(&self) -> Option<&CoordinatedSession> {
        self.sess.as_ref()
    }

    pub(crate) fn current_mut(&mut self) -> Option<&mut CoordinatedSession> {
        self.sess.as_mut()
    }

    /// `_check_stop`: a preemption error recorded in the coordinator recreates the session and reports
    /// "don't stop"; any other recorded error reports "stop".
    fn check_stop(&mut self) -> Result<bool> {
        let Some(sess) = &self.sess else { return Ok(true) };
        match sess.check_stop() {
            Ok(stop) => Ok(stop),
            Err(e) if e.is_preemption() => {
                tracing::info!(error = %e, "An error was raised. This may be due to a preemption in a connected worker or parameter server. A new session will be created.");
                self.close()?;
                self.sess = Some(create(&mut self.creator)?);
                Ok(false)
            }
            Err(_) => Ok(true),
        }
    }

    pub(crate) fn should_stop(&mut self) -> Result<bool> {
        if self.check_stop()? {
            return Ok(true);
        }
        match &self.sess {
            Some(s) => s.should_stop(),
            None => Ok(true),
        }
    }

    /// Closes the current stack; preemption errors from it are logged and dropped.
    pub(crate) fn close(&mut self) -> Result<()> {
        match self.sess.take() {
            Some(mut s) => match s.close() {
                Err(e) if e.is_preemption() => {
                    tracing::warn!(error = %e, "preemption error while closing the session ignored");
                    Ok(())
                }
                other => other,
            },
            None => Ok(()),
        }
    }

    pub(crate) fn run(
        &mut self,
        fetches: &Fetch,
        feeds: &[(Output, Tensor)],
        options: &RunOptions,
        mut run_metadata: Option<&mut RunMetadata>,
    ) -> Result<Fetched> {
        loop {
            let sess = match &mut self.sess {
                Some(s) => s,
                None => self.sess.insert(create(&mut self.creator)?),
            };
            match sess.run(fetches, feeds, options, run_metadata.as_deref_mut()) {
                Err(e) if e.is_preemption() => {
                    tracing::info!(error = %e, "An error was raised. This may be due to a preemption in a connected worker or parameter server. A new session will be created.");
                    self.close()?;
                }
                other => return other,
            }
        }
    }

    /// Runs `step_fn`, re-running the whole of it in a new session after a preemption error.
    pub(crate) fn run_step_fn<T>(
        &mut self,
        step_fn: &mut dyn FnMut(&mut StepContext<'_>) -> Result<T>,
    ) -> Result<T> {
        loop {
            let sess = match &mut self.sess {
                Some(s) => s,
                None => self.sess.insert(create(&mut self.creator)?),
            };
            match step_fn(&mut StepContext::new(sess)) {
                Err(e) if e.is_preemption() => {
                    tracing::info!(error = %e, "An error was raised in step_fn. A new session will be created.");
                    self.close()?;
                }
                other => return other,
            }
        }
    }
}

/// Creates a stack, retrying preemption errors forever (TF's `_create_session`).
fn create(creator: &mut CoordinatedSessionCreator) -> Result<CoordinatedSession> {
    loop {
        match creator.create_session() {
            Err(e) if e.is_preemption() => {
                tracing::info!(error = %e, "An error was raised while a session was being created. A new session will be created.");
            }
            other => return other,
        }
    }
}
