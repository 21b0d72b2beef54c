//! `_CoordinatedSession`: surfaces errors recorded in the coordinator and joins its threads on close;
//! and `_CoordinatedSessionCreator`, which builds one per underlying session and puts the session's
//! background threads (prefetching input pipelines) under its coordinator.

use super::{HookedSession, SharedHooks};
use crate::{Coordinator, SessionCreator};
use ferroflow_core::{Result, Tensor};
use ferroflow_graph::{Graph, Output};
use ferroflow_session::{Fetch, Fetched, RunMetadata, RunOptions, Session};
use std::sync::Arc;
use std::time::Duration;

/// A hooked session plus the coordinator of its threads.
pub(crate) struct CoordinatedSession {
    hooked: HookedSession,
    coord: Arc<Coordinator>,
    stop_grace_period: Duration,
}

impl CoordinatedSession {
    /// `_check_stop`: a recorded error is returned, else the coordinator's stop flag.
    pub(crate) fn check_stop(&self) -> Result<bool> {
        self.coord.raise_requested_exception()?;
        Ok(self.coord.should_stop())
    }

    /// `_WrappedSession.should_stop` of this layer.
    pub(crate) fn should_stop(&self) -> Result<bool> {
        Ok(self.check_stop()? || self.hooked.should_stop())
    }

    pub(crate) fn coord(&self) -> &Arc<Coordinator> {
        &self.coord
    }

    pub(crate) fn raw_session(&mut self) -> Option<&mut (dyn Session + 'static)> {
        self.hooked.raw_session()
    }

    pub(crate) fn graph(&self) -> Option<&Arc<Graph>> {
        self.hooked.graph()
    }

    /// Runs with hooks. A failure that is not a preemption is replaced by a preemption error recorded in
    /// the coordinator (the root cause, so that recovery happens); otherwise the original error is kept.
    /// The coordinator is not told about the main thread's errors (TF does not either).
    pub(crate) fn run(
        &mut self,
        fetches: &Fetch,
        feeds: &[(Output, Tensor)],
        options: &RunOptions,
        run_metadata: Option<&mut RunMetadata>,
    ) -> Result<Fetched> {
        match self.hooked.run(fetches, feeds, options, run_metadata) {
            Err(e) if !e.is_preemption() => match self.coord.raise_requested_exception() {
                Err(root) if root.is_preemption() => Err(root),
                _ => Err(e),
            },
            other => other,
        }
    }

    /// Stops and joins the coordinator's threads, then closes the raw session (its errors ignored).
    ///
    /// # Errors
    /// The error recorded in the coordinator.
    pub(crate) fn close(&mut self) -> Result<()> {
        let _ = self.coord.request_stop(None);
        let joined = self.coord.join(self.stop_grace_period, true);
        if let Err(error) = self.hooked.close() {
            tracing::warn!(%error, "error closing the raw session ignored");
        }
        joined
    }
}

/// Builds a [`CoordinatedSession`] on a new raw session: create, new coordinator, every hook's
/// `after_create_session`.
pub(crate) struct CoordinatedSessionCreator {
    creator: Box<dyn SessionCreator>,
    hooks: SharedHooks,
    stop_grace_period: Duration,
}

impl CoordinatedSessionCreator {
    pub(crate) fn new(
        creator: Box<dyn SessionCreator>,
        hooks: SharedHooks,
        stop_grace_period: Duration,
    ) -> Self {
        CoordinatedSessionCreator { creator, hooks, stop_grace_period }
    }

    pub(crate) fn create_session(&mut self) -> Result<CoordinatedSession> {
        let mut raw = self.creator.create_session()?;
        // No clean-stop codes: every error reported by a thread counts (TF passes `[]`).
        let coord = Arc::new(Coordinator::with_clean_stop_codes(Vec::new()));
        let adopted = crate::start_queue_runners(&*raw, &coord);
        if adopted > 0 {
            tracing::debug!(threads = adopted, "background threads registered with the coordinator");
        }
        {
            let mut hooks = self.hooks.lock();
            for hook in hooks.iter_mut() {
                hook.after_create_session(&mut *raw, &coord)
                    .map_err(|e| e.context(format_args!("hook {} after_create_session", hook.name())))?;
            }
        }
        Ok(CoordinatedSession {
            hooked: HookedSession::new(raw, Arc::clone(&self.hooks)),
            coord,
            stop_grace_period: self.stop_grace_period,
        })
    }
}
