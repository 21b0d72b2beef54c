//! Test doubles for monitored sessions (feature `testing`): sessions that answer from a script or fail
//! on chosen runs, creators from closures, and a hook that records its calls.

use crate::{
    Coordinator, SessionCreator, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
};
use ferroflow_core::{Error, Result, Tensor};
use ferroflow_graph::{Graph, GraphBuilder};
use ferroflow_session::{RunOutputs, RunRequest, Session};
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A session that answers runs from a queue of results; once the queue is empty every run succeeds with
/// a scalar `0.0f32` per fetched tensor.
#[derive(Debug)]
pub struct ScriptedSession {
    graph: Arc<Graph>,
    script: VecDeque<Result<RunOutputs>>,
    runs: Arc<AtomicUsize>,
}

impl ScriptedSession {
    /// A session on `graph` answering with `script`, in order.
    pub fn new(graph: Arc<Graph>, script: impl IntoIterator<Item = Result<RunOutputs>>) -> Self {
        ScriptedSession { graph, script: script.into_iter().collect(), runs: Arc::new(AtomicUsize::new(0)) }
    }

    /// A creator whose (first) session answers with `script`; later sessions (after a recovery) answer
    /// every run with zeros. The graph is the one the monitored session freezes.
    pub fn creator(script: impl IntoIterator<Item = Result<RunOutputs>>) -> ScriptedSessionCreator {
        ScriptedSessionCreator { script: Some(script.into_iter().collect()), graph: None }
    }

    /// A counter of the runs made, shared with the session.
    pub fn run_count(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.runs)
    }
}

impl Session for ScriptedSession {
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        match self.script.pop_front() {
            Some(answer) => answer,
            None => Ok(RunOutputs {
                values: request.fetches.iter().map(|_| Tensor::scalar(0.0f32)).collect(),
                ..Default::default()
            }),
        }
    }
    fn graph(&self) -> &Arc<Graph> {
        &self.graph
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The creator of [`ScriptedSession::creator`].
#[derive(Debug)]
pub struct ScriptedSessionCreator {
    script: Option<VecDeque<Result<RunOutputs>>>,
    graph: Option<Arc<Graph>>,
}

impl SessionCreator for ScriptedSessionCreator {
    fn finalize(&mut self, graph: &mut GraphBuilder) -> Result<Arc<Graph>> {
        let g = graph.finalize();
        self.graph = Some(Arc::clone(&g));
        Ok(g)
    }
    fn create_session(&mut self) -> Result<Box<dyn Session>> {
        let graph = self.graph.clone().ok_or_else(|| Error::failed_precondition("finalize first"))?;
        Ok(Box::new(ScriptedSession::new(graph, self.script.take().unwrap_or_default())))
    }
}

/// Wraps a session and fails chosen runs (1-based run numbers) with chosen errors, e.g. `Aborted` on the
/// third run; other runs go to the inner session.
pub struct FaultInjectingSession {
    inner: Box<dyn Session>,
    faults: BTreeMap<usize, Error>,
    runs: usize,
}

impl std::fmt::Debug for FaultInjectingSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjectingSession")
            .field("faults", &self.faults)
            .field("runs", &self.runs)
            .finish()
    }
}

impl FaultInjectingSession {
    /// Fails run `n` with `faults[n]`.
    pub fn new(inner: Box<dyn Session>, faults: impl IntoIterator<Item = (usize, Error)>) -> Self {
        FaultInjectingSession { inner, faults: faults.into_iter().collect(), runs: 0 }
    }

    /// Succeeds `n` runs, then fails every later one with `Aborted` (TF tests' `AbortAtNSession`).
    pub fn abort_after(inner: Box<dyn Session>, n: usize) -> Self {
        let faults = (n + 1..n + 10_000).map(|i| (i, Error::aborted("Aborted at N")));
        FaultInjectingSession::new(inner, faults)
    }
}

impl Session for FaultInjectingSession {
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
        self.runs += 1;
        if let Some(e) = self.faults.get(&self.runs) {
            return Err(e.duplicate());
        }
        self.inner.run_request(request)
    }
    fn graph(&self) -> &Arc<Graph> {
        self.inner.graph()
    }
    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }
    fn background_threads(&self) -> Option<Arc<ferroflow_session::BackgroundThreads>> {
        self.inner.background_threads()
    }
}

/// One session shared by every creation (TF tests' `CountingSessionCreator` hands out the same session);
/// closing it does nothing, so state survives recoveries.
#[derive(Clone)]
pub struct SharedSession {
    inner: Arc<Mutex<Box<dyn Session>>>,
    graph: Arc<Graph>,
}

impl std::fmt::Debug for SharedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSession").finish_non_exhaustive()
    }
}

impl SharedSession {
    /// Shares `session`.
    pub fn new(session: Box<dyn Session>) -> Self {
        let graph = Arc::clone(session.graph());
        SharedSession { inner: Arc::new(Mutex::new(session)), graph }
    }
}

impl Session for SharedSession {
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
        self.inner.lock().run_request(request)
    }
    fn graph(&self) -> &Arc<Graph> {
        &self.graph
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
    fn background_threads(&self) -> Option<Arc<ferroflow_session::BackgroundThreads>> {
        self.inner.lock().background_threads()
    }
}

/// A creator from a closure; counts its calls.
pub struct FnSessionCreator<F> {
    make: F,
    calls: Arc<AtomicUsize>,
}

impl<F> std::fmt::Debug for FnSessionCreator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnSessionCreator").field("calls", &self.calls).finish_non_exhaustive()
    }
}

impl<F: FnMut() -> Result<Box<dyn Session>> + Send> FnSessionCreator<F> {
    /// A creator calling `make`.
    pub fn new(make: F) -> Self {
        FnSessionCreator { make, calls: Arc::new(AtomicUsize::new(0)) }
    }

    /// A counter of `create_session` calls.
    pub fn calls(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.calls)
    }
}

impl<F: FnMut() -> Result<Box<dyn Session>> + Send> SessionCreator for FnSessionCreator<F> {
    fn finalize(&mut self, graph: &mut GraphBuilder) -> Result<Arc<Graph>> {
        Ok(graph.finalize())
    }
    fn create_session(&mut self) -> Result<Box<dyn Session>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (self.make)()
    }
}

/// The calls a [`RecordingHook`] saw, as `"begin"`, `"after_create_session"`, `"before_run"`,
/// `"after_run"`, `"end"` (and `"end(None)"` for an end without a session).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// The calls so far, cleared.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }

    /// The calls so far.
    pub fn snapshot(&self) -> Vec<String> {
        self.0.lock().clone()
    }

    /// How many calls named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.0.lock().iter().filter(|c| *c == name).count()
    }

    fn push(&self, call: &str) {
        self.0.lock().push(call.to_string());
    }
}

/// A hook that records its calls in a [`CallLog`] (optionally shared by several hooks, with a prefix).
#[derive(Debug, Clone, Default)]
pub struct RecordingHook {
    log: CallLog,
    prefix: String,
}

impl RecordingHook {
    /// A hook and its log.
    pub fn new() -> (RecordingHook, CallLog) {
        let log = CallLog::default();
        (RecordingHook { log: log.clone(), prefix: String::new() }, log)
    }

    /// A hook writing `"<prefix>:<call>"` into `log`.
    pub fn named(prefix: &str, log: &CallLog) -> RecordingHook {
        RecordingHook { log: log.clone(), prefix: format!("{prefix}:") }
    }

    fn push(&self, call: &str) {
        self.log.push(&format!("{}{call}", self.prefix));
    }
}

impl SessionRunHook for RecordingHook {
    fn begin(&mut self, _graph: &mut GraphBuilder) -> Result<()> {
        self.push("begin");
        Ok(())
    }
    fn after_create_session(&mut self, _session: &mut dyn Session, _coord: &Arc<Coordinator>) -> Result<()> {
        self.push("after_create_session");
        Ok(())
    }
    fn before_run(&mut self, _ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        self.push("before_run");
        Ok(None)
    }
    fn after_run(&mut self, _ctx: &mut SessionRunContext<'_>, _values: &SessionRunValues<'_>) -> Result<()> {
        self.push("after_run");
        Ok(())
    }
    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        self.push(if session.is_some() { "end" } else { "end(None)" });
        Ok(())
    }
}
