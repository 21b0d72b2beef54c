//! `SessionRunHook` and the values passed to it (TF's `session_run_hook.py`).

use crate::Coordinator;
use ferroflow_core::{Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{Fetch, Fetched, RunMetadata, RunOptions, Session};
use std::sync::Arc;

/// Observes and extends the runs of a [`MonitoredSession`](crate::MonitoredSession) (TF's
/// `tf.train.SessionRunHook`). Every method does nothing by default, so a hook implements only what it
/// uses.
///
/// TF1's contract, which the monitored session keeps (hooks are called in list order in every phase):
/// * [`begin`](Self::begin) once, before the graph is frozen: the only time a hook may add nodes;
/// * [`after_create_session`](Self::after_create_session) after each creation of the underlying session,
///   including every recovery after `Aborted`/`Unavailable`, with the new coordinator;
/// * [`before_run`](Self::before_run) before each run, which may add fetches, feeds and options to the
///   same step;
/// * [`after_run`](Self::after_run) after the run succeeded (not when the run or a `before_run` failed);
/// * [`end`](Self::end) at `close()` and after a clean stop (end of input), not after other errors.
pub trait SessionRunHook: Send {
    /// The name used in errors that this hook raised (by default, the type's name).
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Called once, before the graph is frozen. May add nodes.
    ///
    /// # Errors
    /// Any error aborts the construction of the monitored session.
    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        let _ = graph;
        Ok(())
    }

    /// Called after every (re)creation of the underlying session, after initialization or restore.
    /// `session` is the raw session: runs on it do not trigger hooks.
    ///
    /// # Errors
    /// `Aborted`/`Unavailable` make a `MonitoredSession` create the session again; other errors propagate.
    fn after_create_session(&mut self, session: &mut dyn Session, coord: &Arc<Coordinator>) -> Result<()> {
        let _ = (session, coord);
        Ok(())
    }

    /// Called before each run. Returns what to add to the run, or `None`.
    ///
    /// # Errors
    /// The run is not executed and the error surfaces from `run()`, naming this hook.
    fn before_run(&mut self, ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let _ = ctx;
        Ok(None)
    }

    /// Called after a successful run with the values this hook asked for.
    ///
    /// # Errors
    /// Later hooks' `after_run` are skipped and the error surfaces from `run()`, naming this hook.
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let _ = (ctx, values);
        Ok(())
    }

    /// Called at `close()` (and at a clean end of a scoped block). `session` is the raw session, or `None`
    /// when the monitored session was already closed (TF calls `end(None)` on a second `close()`).
    ///
    /// # Errors
    /// Later hooks' `end` are skipped; the session is still closed and the error returned.
    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        let _ = session;
        Ok(())
    }
}

impl<H: SessionRunHook + ?Sized> SessionRunHook for Box<H> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        (**self).begin(graph)
    }
    fn after_create_session(&mut self, session: &mut dyn Session, coord: &Arc<Coordinator>) -> Result<()> {
        (**self).after_create_session(session, coord)
    }
    fn before_run(&mut self, ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        (**self).before_run(ctx)
    }
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        (**self).after_run(ctx, values)
    }
    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        (**self).end(session)
    }
}

/// What a hook adds to a run (TF's `SessionRunArgs(fetches, feed_dict, options)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionRunArgs {
    /// Extra fetches; the hook gets their values, in this shape, in [`SessionRunValues::results`].
    pub fetches: Option<Fetch>,
    /// Extra feeds. A tensor fed by two hooks, or by a hook and the caller, is an `InvalidArgument`.
    pub feeds: Vec<(Output, Tensor)>,
    /// Options merged into the run's (higher trace level, longer timeout, either flag).
    pub options: Option<RunOptions>,
}

impl SessionRunArgs {
    /// Asks for `fetches`.
    pub fn new(fetches: impl Into<Fetch>) -> Self {
        SessionRunArgs { fetches: Some(fetches.into()), ..Default::default() }
    }

    /// Adds feeds.
    pub fn with_feeds(mut self, feeds: Vec<(Output, Tensor)>) -> Self {
        self.feeds = feeds;
        self
    }

    /// Adds options.
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = Some(options);
        self
    }
}

/// The run in progress, shared by all hooks for `before_run` and `after_run` of one `run()` (TF's
/// `SessionRunContext`).
pub struct SessionRunContext<'a> {
    fetches: &'a Fetch,
    feeds: &'a [(Output, Tensor)],
    session: &'a mut dyn Session,
    stop_requested: bool,
}

impl std::fmt::Debug for SessionRunContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRunContext")
            .field("fetches", self.fetches)
            .field("stop_requested", &self.stop_requested)
            .finish_non_exhaustive()
    }
}

impl<'a> SessionRunContext<'a> {
    /// A context for a run of `fetches` with `feeds` on the raw `session`.
    pub fn new(fetches: &'a Fetch, feeds: &'a [(Output, Tensor)], session: &'a mut dyn Session) -> Self {
        SessionRunContext { fetches, feeds, session, stop_requested: false }
    }

    /// The caller's fetches and feeds, not merged with the hooks' (`options` is always `None`, as in TF).
    pub fn original_args(&self) -> SessionRunArgs {
        SessionRunArgs { fetches: Some(self.fetches.clone()), feeds: self.feeds.to_vec(), options: None }
    }

    /// The caller's fetches, without copying.
    pub fn original_fetches(&self) -> &Fetch {
        self.fetches
    }

    /// The caller's feeds, without copying.
    pub fn original_feeds(&self) -> &[(Output, Tensor)] {
        self.feeds
    }

    /// The raw session: runs on it do not trigger hooks (what `StopAtStepHook` uses to re-read the step).
    pub fn session(&mut self) -> &mut dyn Session {
        &mut *self.session
    }

    /// Asks the monitored session to stop after this run; `should_stop()` then returns true. A request
    /// made in `before_run` does not cancel the current run.
    pub fn request_stop(&mut self) {
        self.stop_requested = true;
    }

    /// Whether a hook asked to stop during this run.
    pub fn stop_requested(&self) -> bool {
        self.stop_requested
    }
}

/// What a hook sees after a run (TF's `SessionRunValues`).
#[derive(Debug, Clone, Copy)]
pub struct SessionRunValues<'a> {
    /// The values of the fetches this hook asked for, in their shape; `None` when it asked for none.
    pub results: Option<&'a Fetched>,
    /// The merged options the run used (the same for every hook).
    pub options: &'a RunOptions,
    /// The run's metadata (the same for every hook).
    pub run_metadata: &'a RunMetadata,
}
