//! `MonitoredSession` and `SingularMonitoredSession`: a session that initializes or restores the model,
//! calls hooks around each run, and (for `MonitoredSession`) recovers from preemptions (TF's
//! `monitored_session.py`).

use crate::session_wrappers::{
    CoordinatedSession, CoordinatedSessionCreator, RecoverableSession, SharedHooks,
};
use crate::{ChiefSessionCreator, Coordinator, Scaffold, SessionCreator, SessionRunHook};
use ferroflow_core::{Code, Error, Result, Tensor};
use ferroflow_graph::{Graph, GraphBuilder, Output};
use ferroflow_session::{
    Fetch, Fetched, RunMetadata, RunOptions, RunOutputs, RunRequest, Session, SessionFactory, SessionOptions,
};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The message of the error [`StepContext::request_stop`] returns (TF raises `StopIteration` with it).
pub const STEP_FN_STOP_MESSAGE: &str = "step_fn has requested the iterations to stop.";

/// TF's default `stop_grace_period_secs`.
const DEFAULT_GRACE: Duration = Duration::from_secs(120);

fn already_closed() -> Error {
    Error::failed_precondition("Session is already closed.")
}

/// What a `step_fn` gets (TF's `StepContext`): the raw session and a way to run with hooks.
pub struct StepContext<'a> {
    sess: &'a mut CoordinatedSession,
}

impl std::fmt::Debug for StepContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepContext").finish_non_exhaustive()
    }
}

impl<'a> StepContext<'a> {
    pub(crate) fn new(sess: &'a mut CoordinatedSession) -> Self {
        StepContext { sess }
    }

    /// The raw session: runs on it trigger no hooks and no coordinator checks. After a recovery this is
    /// the new session (TF keeps handing out the old, closed one).
    ///
    /// # Errors
    /// `FailedPrecondition` when the session was closed.
    pub fn session(&mut self) -> Result<&mut dyn Session> {
        match self.sess.raw_session() {
            Some(s) => Ok(s),
            None => Err(already_closed()),
        }
    }

    /// `MonitoredSession::run` without the recovery loop: a preemption error propagates out of the
    /// `step_fn`, and a `MonitoredSession` then re-runs the whole `step_fn` in a new session.
    ///
    /// # Errors
    /// As [`MonitoredSession::run`].
    pub fn run_with_hooks(
        &mut self,
        fetches: impl Into<Fetch>,
        feeds: &[(Output, Tensor)],
    ) -> Result<Fetched> {
        self.sess.run(&fetches.into(), feeds, &RunOptions::default(), None)
    }

    /// As [`run_with_hooks`](Self::run_with_hooks), with options and metadata.
    ///
    /// # Errors
    /// As [`MonitoredSession::run`].
    pub fn run_with_hooks_with(
        &mut self,
        fetches: impl Into<Fetch>,
        feeds: &[(Output, Tensor)],
        options: &RunOptions,
        run_metadata: Option<&mut RunMetadata>,
    ) -> Result<Fetched> {
        self.sess.run(&fetches.into(), feeds, options, run_metadata)
    }

    /// The error to return from the `step_fn` to stop iterating: `OutOfRange` with
    /// [`STEP_FN_STOP_MESSAGE`] (TF raises `StopIteration`). A scoped block
    /// ([`MonitoredSession::scope`]) ends cleanly on it; outside one the caller gets it and
    /// `should_stop()` stays false, as in TF.
    pub fn request_stop(&self) -> Error {
        Error::out_of_range(STEP_FN_STOP_MESSAGE)
    }

    /// The coordinator of the current session.
    pub fn coordinator(&self) -> &Arc<Coordinator> {
        self.sess.coord()
    }
}

enum Stack {
    Recoverable(RecoverableSession),
    Singular(CoordinatedSession),
}

/// What both monitored sessions share (TF's `_MonitoredSession`).
struct Core {
    stack: Option<Stack>,
    hooks: SharedHooks,
    graph: Arc<Graph>,
}

impl Core {
    fn create(
        mut graph: GraphBuilder,
        mut creator: Box<dyn SessionCreator>,
        hooks: Vec<Box<dyn SessionRunHook>>,
        grace: Duration,
        recoverable: bool,
    ) -> Result<Core> {
        let hooks: SharedHooks = Arc::new(Mutex::new(hooks));
        for hook in hooks.lock().iter_mut() {
            hook.begin(&mut graph).map_err(|e| e.context(format_args!("hook {} begin", hook.name())))?;
        }
        let frozen = creator.finalize(&mut graph)?;
        let mut creator = CoordinatedSessionCreator::new(creator, Arc::clone(&hooks), grace);
        let stack = if recoverable {
            Stack::Recoverable(RecoverableSession::new(creator)?)
        } else {
            Stack::Singular(creator.create_session()?)
        };
        Ok(Core { stack: Some(stack), hooks, graph: frozen })
    }

    fn coordinated(&self) -> Option<&CoordinatedSession> {
        match self.stack.as_ref()? {
            Stack::Recoverable(r) => r.current(),
            Stack::Singular(c) => Some(c),
        }
    }

    fn coordinated_mut(&mut self) -> Option<&mut CoordinatedSession> {
        match self.stack.as_mut()? {
            Stack::Recoverable(r) => r.current_mut(),
            Stack::Singular(c) => Some(c),
        }
    }

    fn run(
        &mut self,
        fetches: &Fetch,
        feeds: &[(Output, Tensor)],
        options: &RunOptions,
        run_metadata: Option<&mut RunMetadata>,
    ) -> Result<Fetched> {
        match self.stack.as_mut() {
            Some(Stack::Recoverable(r)) => r.run(fetches, feeds, options, run_metadata),
            Some(Stack::Singular(c)) => c.run(fetches, feeds, options, run_metadata),
            None => Err(already_closed()),
        }
    }

    fn run_step_fn<T>(&mut self, step_fn: &mut dyn FnMut(&mut StepContext<'_>) -> Result<T>) -> Result<T> {
        match self.stack.as_mut() {
            Some(Stack::Recoverable(r)) => r.run_step_fn(step_fn),
            Some(Stack::Singular(c)) => step_fn(&mut StepContext::new(c)),
            None => Err(already_closed()),
        }
    }

    fn should_stop(&mut self) -> Result<bool> {
        match self.stack.as_mut() {
            Some(Stack::Recoverable(r)) => r.should_stop(),
            Some(Stack::Singular(c)) => c.should_stop(),
            None => Ok(true),
        }
    }

    /// TF's `_close_internal`: hooks' `end` (only on a clean exit), then close the stack whatever
    /// happened; an error from closing replaces one from `end`.
    fn close_internal(&mut self, clean: bool) -> Result<()> {
        let mut end_result = Ok(());
        if clean {
            let mut raw = match self.stack.as_mut() {
                Some(Stack::Recoverable(r)) => r.current_mut().and_then(CoordinatedSession::raw_session),
                Some(Stack::Singular(c)) => c.raw_session(),
                None => None,
            };
            let mut hooks = self.hooks.lock();
            for hook in hooks.iter_mut() {
                let session: Option<&mut dyn Session> = match raw.as_mut() {
                    Some(s) => Some(&mut **s),
                    None => None,
                };
                if let Err(e) = hook.end(session) {
                    end_result = Err(e.context(format_args!("hook {} end", hook.name())));
                    break;
                }
            }
        }
        let close_result = match self.stack.take() {
            None => Err(already_closed()),
            Some(Stack::Recoverable(mut r)) => r.close(),
            Some(Stack::Singular(mut c)) => c.close(),
        };
        close_result.and(end_result)
    }

    /// TF's `with` block: clean exit or end of input (exactly `OutOfRange`, which a `step_fn` stop request
    /// also is) call hooks' `end` and close; other errors close without `end`. An error from closing
    /// replaces the block's.
    fn scope<T>(&mut self, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => self.close_internal(true).map(|()| Some(v)),
            Err(e) if e.code() == Code::OutOfRange => self.close_internal(true).map(|()| None),
            Err(e) => match self.close_internal(false) {
                Err(close_error) => Err(close_error),
                Ok(()) => Err(e),
            },
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Dropping without `close()` is an exit by error (or by `?`), so hooks' `end` is not called.
        if self.stack.is_some() {
            if let Err(error) = self.close_internal(false) {
                tracing::warn!(%error, "error closing a dropped monitored session");
            }
        }
    }
}

macro_rules! common_methods {
    () => {
        /// Runs `fetches` with `feeds`, with hooks: TF's `run(fetches, feed_dict)`.
        ///
        /// # Errors
        /// `FailedPrecondition` "Run called even after should_stop requested." after a hook asked to stop,
        /// or "Session is already closed."; `InvalidArgument` "Same tensor is fed by ..."; a hook's error
        /// naming the hook; the run's errors.
        pub fn run(&mut self, fetches: impl Into<Fetch>, feeds: &[(Output, Tensor)]) -> Result<Fetched> {
            self.core.run(&fetches.into(), feeds, &RunOptions::default(), None)
        }

        /// As [`run`](Self::run), with options (merged with hooks' options) and metadata (filled by the
        /// run).
        ///
        /// # Errors
        /// As [`run`](Self::run).
        pub fn run_with(
            &mut self,
            fetches: impl Into<Fetch>,
            feeds: &[(Output, Tensor)],
            options: &RunOptions,
            run_metadata: Option<&mut RunMetadata>,
        ) -> Result<Fetched> {
            self.core.run(&fetches.into(), feeds, options, run_metadata)
        }

        /// Runs `step_fn` with a [`StepContext`] and returns its result (TF's `run_step_fn`).
        ///
        /// # Errors
        /// What `step_fn` returns; [`StepContext::request_stop`]'s error to stop.
        pub fn run_step_fn<T>(
            &mut self,
            mut step_fn: impl FnMut(&mut StepContext<'_>) -> Result<T>,
        ) -> Result<T> {
            self.core.run_step_fn(&mut step_fn)
        }

        /// Closes: every hook's `end` with the raw session (in order; the first failure skips the rest),
        /// then the session stack (stop and join the coordinator, close the raw session).
        ///
        /// # Errors
        /// An error recorded in the coordinator; a hook's `end` error. A second `close()` calls the hooks'
        /// `end` with `None` and returns `FailedPrecondition` "Session is already closed." (as TF does).
        pub fn close(&mut self) -> Result<()> {
            self.core.close_internal(true)
        }

        /// Runs `body` as TF's `with` block: on success or `OutOfRange` (end of input, or a `step_fn`
        /// stop request) the hooks' `end` run and the session closes, and the result is `Ok(Some(v))` or
        /// `Ok(None)`; any other error closes the session without `end` and is returned.
        ///
        /// # Errors
        /// The body's error (not `OutOfRange`), or the error from closing, which takes precedence.
        pub fn scope<T>(&mut self, body: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
            let result = body(self);
            self.core.scope(result)
        }

        /// Whether the session is closed.
        pub fn is_closed(&self) -> bool {
            self.core.stack.is_none()
        }

        /// The graph of the raw session, `None` after close.
        pub fn graph(&self) -> Option<Arc<Graph>> {
            self.core.coordinated().and_then(|c| c.graph().cloned())
        }

        /// The coordinator of the current underlying session, `None` after close.
        pub fn coordinator(&self) -> Option<Arc<Coordinator>> {
            self.core.coordinated().map(|c| Arc::clone(c.coord()))
        }
    };
}

/// A session for training (TF's `tf.train.MonitoredSession`): the stack
/// `RecoverableSession -> CoordinatedSession -> HookedSession -> raw session`.
///
/// Construction calls every hook's `begin`, finalizes the creator's scaffold (freezing the graph),
/// creates the session (init or restore) and calls every hook's `after_create_session`. `run` calls hooks
/// around each run. `Aborted`/`Unavailable` errors close the session (without `end`), create a new one and
/// retry the whole run.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::{GraphBuilder, VariableOptions};
/// use ferroflow_train::MonitoredSession;
/// let mut g = GraphBuilder::new();
/// let zero = g.constant(Tensor::scalar(0i64))?;
/// let step = g.variable("global_step", zero, VariableOptions::non_trainable())?;
/// let one = g.constant(Tensor::scalar(1i64))?;
/// let train = g.assign_add(&step, one)?;
/// let mut sess = MonitoredSession::builder(g).build()?;
/// let done = sess.scope(|s| {
///     for _ in 0..3 {
///         s.run(train, &[])?;
///     }
///     s.run(step.value(), &[])?.scalar::<i64>()
/// })?;
/// assert_eq!(done, Some(3));
/// assert!(sess.should_stop()?);
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct MonitoredSession {
    core: Core,
}

impl std::fmt::Debug for MonitoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredSession").field("closed", &self.is_closed()).finish_non_exhaustive()
    }
}

impl MonitoredSession {
    /// A builder over the graph built so far (hooks may add to it in `begin`).
    pub fn builder(graph: GraphBuilder) -> MonitoredSessionBuilder {
        MonitoredSessionBuilder { graph, creator: None, hooks: Vec::new(), grace: DEFAULT_GRACE }
    }

    /// TF's `MonitoredSession(session_creator, hooks)` with the default grace period.
    ///
    /// # Errors
    /// A hook's `begin`/`after_create_session` error, or the creator's non-preemption error.
    pub fn new(
        graph: GraphBuilder,
        creator: impl SessionCreator + 'static,
        hooks: Vec<Box<dyn SessionRunHook>>,
    ) -> Result<Self> {
        MonitoredSession::builder(graph).session_creator(creator).hooks(hooks).build()
    }

    common_methods!();

    /// Whether to stop: the session is closed, a hook asked to stop, or the coordinator was stopped or
    /// holds an error. A preemption error in the coordinator recreates the session and returns false.
    ///
    /// # Errors
    /// A non-preemption error while recreating the session.
    pub fn should_stop(&mut self) -> Result<bool> {
        self.core.should_stop()
    }
}

/// A flat request through the hooks: the tensors are fetched in order, the targets run. With this, a
/// monitored session can be passed where a `&mut dyn Session` is expected (e.g. to [`Saver::save`]).
/// Runs on it trigger hooks and recovery like [`MonitoredSession::run`].
///
/// [`Saver::save`]: crate::Saver::save
fn run_flat(core: &mut Core, request: &RunRequest) -> Result<RunOutputs> {
    let mut items: Vec<Fetch> = request.fetches.iter().map(|o| Fetch::Tensor(*o)).collect();
    items.extend(request.targets.iter().map(|t| Fetch::Op(*t)));
    let mut metadata = RunMetadata::default();
    let fetched = core.run(&Fetch::List(items), &request.feeds, &request.options, Some(&mut metadata))?;
    let Fetched::List(values) = fetched else {
        return Err(Error::internal("a list fetch did not come back as a list"));
    };
    let values = values
        .into_iter()
        .take(request.fetches.len())
        .map(Fetched::into_tensor)
        .collect::<Result<Vec<_>>>()?;
    Ok(RunOutputs { values, metadata })
}

macro_rules! session_impl {
    ($ty:ty) => {
        impl Session for $ty {
            fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
                run_flat(&mut self.core, request)
            }
            fn graph(&self) -> &Arc<Graph> {
                &self.core.graph
            }
            fn close(&mut self) -> Result<()> {
                self.core.close_internal(true)
            }
        }
    };
}

session_impl!(MonitoredSession);
session_impl!(SingularMonitoredSession);

/// Builds a [`MonitoredSession`].
pub struct MonitoredSessionBuilder {
    graph: GraphBuilder,
    creator: Option<Box<dyn SessionCreator>>,
    hooks: Vec<Box<dyn SessionRunHook>>,
    grace: Duration,
}

impl std::fmt::Debug for MonitoredSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredSessionBuilder").field("hooks", &self.hooks.len()).finish_non_exhaustive()
    }
}

impl MonitoredSessionBuilder {
    /// The session creator. By default, a [`ChiefSessionCreator`] with a default [`Scaffold`].
    pub fn session_creator(mut self, creator: impl SessionCreator + 'static) -> Self {
        self.creator = Some(Box::new(creator));
        self
    }

    /// Adds a hook (hooks are called in the order added).
    pub fn hook(mut self, hook: impl SessionRunHook + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Adds hooks.
    pub fn hooks(mut self, hooks: impl IntoIterator<Item = Box<dyn SessionRunHook>>) -> Self {
        self.hooks.extend(hooks);
        self
    }

    /// How long `close()` waits for coordinator threads. By default, 120 s.
    pub fn stop_grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs hooks' `begin`, freezes the graph and creates the session.
    ///
    /// # Errors
    /// A hook's error naming it; the creator's non-preemption error.
    pub fn build(self) -> Result<MonitoredSession> {
        let creator = self.creator.unwrap_or_else(|| Box::new(ChiefSessionCreator::default()));
        Ok(MonitoredSession { core: Core::create(self.graph, creator, self.hooks, self.grace, true)? })
    }
}

/// A monitored session that does not recover (TF's `tf.train.SingularMonitoredSession`): preemption errors
/// propagate, and [`raw_session`](Self::raw_session) gives the underlying session.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::{GraphBuilder, VariableOptions};
/// use ferroflow_train::SingularMonitoredSession;
/// let mut g = GraphBuilder::new();
/// let zero = g.constant(Tensor::scalar(0.0f32))?;
/// let v = g.variable("v", zero, VariableOptions::default())?;
/// let mut sess = SingularMonitoredSession::builder(g).build()?;
/// assert_eq!(sess.run(v.value(), &[])?.scalar::<f32>()?, 0.0);
/// assert!(sess.raw_session().is_some());
/// sess.close()?;
/// assert!(sess.raw_session().is_none());
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct SingularMonitoredSession {
    core: Core,
}

impl std::fmt::Debug for SingularMonitoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingularMonitoredSession").field("closed", &self.is_closed()).finish_non_exhaustive()
    }
}

impl SingularMonitoredSession {
    /// A builder over the graph built so far.
    pub fn builder(graph: GraphBuilder) -> SingularMonitoredSessionBuilder {
        SingularMonitoredSessionBuilder {
            graph,
            hooks: Vec::new(),
            scaffold: Scaffold::new(),
            master: String::new(),
            config: SessionOptions::default(),
            checkpoint_dir: None,
            checkpoint_filename_with_path: None,
            factory: None,
            grace: DEFAULT_GRACE,
        }
    }

    common_methods!();

    /// Whether to stop: closed, a hook asked to stop, or the coordinator was stopped.
    ///
    /// # Errors
    /// An error recorded in the coordinator (TF raises it from `should_stop`).
    pub fn should_stop(&mut self) -> Result<bool> {
        self.core.should_stop()
    }

    /// The raw session, `None` after close.
    pub fn raw_session(&mut self) -> Option<&mut dyn Session> {
        match self.core.coordinated_mut()?.raw_session() {
            Some(s) => Some(s),
            None => None,
        }
    }
}

/// Builds a [`SingularMonitoredSession`] (TF's constructor arguments).
pub struct SingularMonitoredSessionBuilder {
    graph: GraphBuilder,
    hooks: Vec<Box<dyn SessionRunHook>>,
    scaffold: Scaffold,
    master: String,
    config: SessionOptions,
    checkpoint_dir: Option<PathBuf>,
    checkpoint_filename_with_path: Option<PathBuf>,
    factory: Option<Arc<dyn SessionFactory>>,
    grace: Duration,
}

impl std::fmt::Debug for SingularMonitoredSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingularMonitoredSessionBuilder")
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

impl SingularMonitoredSessionBuilder {
    /// Adds a hook.
    pub fn hook(mut self, hook: impl SessionRunHook + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Adds hooks.
    pub fn hooks(mut self, hooks: impl IntoIterator<Item = Box<dyn SessionRunHook>>) -> Self {
        self.hooks.extend(hooks);
        self
    }

    /// The scaffold.
    pub fn scaffold(mut self, scaffold: Scaffold) -> Self {
        self.scaffold = scaffold;
        self
    }

    /// The session target.
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// The session options.
    pub fn config(mut self, config: SessionOptions) -> Self {
        self.config = config;
        self
    }

    /// Restore from this directory's latest checkpoint.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Restore this checkpoint.
    pub fn checkpoint_filename_with_path(mut self, prefix: impl Into<PathBuf>) -> Self {
        self.checkpoint_filename_with_path = Some(prefix.into());
        self
    }

    /// The session factory for the master string.
    pub fn factory(mut self, factory: Arc<dyn SessionFactory>) -> Self {
        self.factory = Some(factory);
        self
    }

    /// How long `close()` waits for coordinator threads. By default, 120 s.
    pub fn stop_grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs hooks' `begin`, freezes the graph and creates the session (no retry on preemption).
    ///
    /// # Errors
    /// A hook's error naming it; the creator's error.
    pub fn build(self) -> Result<SingularMonitoredSession> {
        let mut creator = ChiefSessionCreator::new(self.scaffold).master(self.master).config(self.config);
        if let Some(dir) = self.checkpoint_dir {
            creator = creator.checkpoint_dir(dir);
        }
        if let Some(path) = self.checkpoint_filename_with_path {
            creator = creator.checkpoint_filename_with_path(path);
        }
        if let Some(f) = self.factory {
            creator = creator.factory(f);
        }
        Ok(SingularMonitoredSession {
            core: Core::create(self.graph, Box::new(creator), self.hooks, self.grace, false)?,
        })
    }
}
