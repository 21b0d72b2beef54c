//! Graphs and hooks shared by the tests (TF tests' helpers: FakeHook, RaiseOnceAtCountN,
//! StopCoordinatorWithException, FailTrainingAfterCoordinatorStopped).

use ferroflow_core::{Error, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output, Variable};
use ferroflow_session::{Fetched, RunMetadata, RunOptions, Session};
use ferroflow_train::{Coordinator, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use parking_lot::Mutex;
use std::sync::mpsc;
use std::sync::Arc;

/// A graph with an int64 global step (in the `global_step` collection) and `do_step = gstep += 1`.
pub fn gstep_graph() -> Result<(GraphBuilder, Variable, Output)> {
    let mut g = GraphBuilder::new();
    let (gstep, do_step) = add_gstep(&mut g)?;
    Ok((g, gstep, do_step))
}

pub fn add_gstep(g: &mut GraphBuilder) -> Result<(Variable, Output)> {
    let gstep = g.get_or_create_global_step()?;
    let one = g.constant(Tensor::scalar(1i64))?;
    let do_step = g.assign_add(&gstep, one)?;
    Ok((gstep, do_step))
}

/// TF tests' `c = constant(0); v = identity(c)`: `c` can be fed.
pub fn c_v(g: &mut GraphBuilder) -> Result<(Output, Output)> {
    let zero = g.constant(Tensor::scalar(0i32))?;
    let c = g.placeholder_with_default(zero, PartialShape::scalar(), "c")?;
    let v = g.identity(c)?;
    Ok((c, v))
}

pub fn i32_of(f: &Fetched) -> i32 {
    f.scalar::<i32>().unwrap()
}

pub fn i64_of(f: &Fetched) -> i64 {
    f.scalar::<i64>().unwrap()
}

/// What a [`FakeHook`] saw.
#[derive(Debug, Default)]
pub struct FakeState {
    pub begin: usize,
    pub after_create_session: usize,
    pub before_run: usize,
    pub after_run: usize,
    pub end: usize,
    pub request: Option<SessionRunArgs>,
    pub should_stop: bool,
    pub results: Option<Option<Fetched>>,
    pub options: Option<RunOptions>,
    pub metadata: Option<RunMetadata>,
    pub original_args: Option<SessionRunArgs>,
}

/// TF tests' `FakeHook`: counts calls, returns `request` from `before_run`, stores the run values and
/// requests stop when `should_stop` is set.
#[derive(Clone, Default)]
pub struct FakeHook(pub Arc<Mutex<FakeState>>);

impl FakeHook {
    pub fn new() -> Self {
        FakeHook::default()
    }
    pub fn state(&self) -> parking_lot::MutexGuard<'_, FakeState> {
        self.0.lock()
    }
}

impl SessionRunHook for FakeHook {
    fn begin(&mut self, _: &mut GraphBuilder) -> Result<()> {
        self.0.lock().begin += 1;
        Ok(())
    }
    fn after_create_session(&mut self, _: &mut dyn Session, _: &Arc<Coordinator>) -> Result<()> {
        self.0.lock().after_create_session += 1;
        Ok(())
    }
    fn before_run(&mut self, ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let mut s = self.0.lock();
        s.before_run += 1;
        s.original_args = Some(ctx.original_args());
        Ok(s.request.clone())
    }
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let mut s = self.0.lock();
        s.after_run += 1;
        s.results = Some(values.results.cloned());
        s.options = Some(values.options.clone());
        s.metadata = Some(values.run_metadata.clone());
        if s.should_stop {
            ctx.request_stop();
        }
        Ok(())
    }
    fn end(&mut self, _: Option<&mut dyn Session>) -> Result<()> {
        self.0.lock().end += 1;
        Ok(())
    }
}

/// TF tests' `RaiseOnceAtCountN(n, ex)`: raises `ex` in the n-th `before_run`, never again.
#[derive(Clone)]
pub struct RaiseOnceAtCountN {
    n: Arc<Mutex<i64>>,
    error: Error,
    pub raised: Arc<Mutex<bool>>,
}

impl RaiseOnceAtCountN {
    pub fn new(n: i64, error: Error) -> Self {
        RaiseOnceAtCountN { n: Arc::new(Mutex::new(n)), error, raised: Arc::new(Mutex::new(false)) }
    }
    pub fn raised(&self) -> bool {
        *self.raised.lock()
    }
}

impl SessionRunHook for RaiseOnceAtCountN {
    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let mut n = self.n.lock();
        *n -= 1;
        if *n == 0 {
            *self.raised.lock() = true;
            return Err(self.error.duplicate());
        }
        Ok(None)
    }
}

/// TF tests' `StopCoordinatorWithException` (and, with `fail_training`, the
/// `FailTrainingAfterCoordinatorStopped` variant): in the first `after_create_session` starts a
/// coordinator thread that records `error` once `after_run` was called `calls_before_stopping` times;
/// that `after_run` waits until the error is recorded (and then, when `fail_training`, fails with
/// `Cancelled` if the coordinator holds an `Aborted`).
pub struct StopCoordinatorWithException {
    calls_before_stopping: usize,
    error: Error,
    fail_training: bool,
    started: bool,
    go: Option<mpsc::Sender<()>>,
    done: Option<mpsc::Receiver<()>>,
    coord: Option<Arc<Coordinator>>,
}

impl StopCoordinatorWithException {
    pub fn new(calls_before_stopping: usize, error: Error, fail_training: bool) -> Self {
        StopCoordinatorWithException {
            calls_before_stopping,
            error,
            fail_training,
            started: false,
            go: None,
            done: None,
            coord: None,
        }
    }
}

impl SessionRunHook for StopCoordinatorWithException {
    fn after_create_session(&mut self, _: &mut dyn Session, coord: &Arc<Coordinator>) -> Result<()> {
        self.coord = Some(Arc::clone(coord));
        if self.started {
            return Ok(());
        }
        self.started = true;
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let c = Arc::clone(coord);
        let error = self.error.duplicate();
        coord.register_thread(std::thread::spawn(move || {
            if go_rx.recv().is_ok() {
                let _ = c.request_stop(Some(error));
                let _ = done_tx.send(());
            }
        }));
        self.go = Some(go_tx);
        self.done = Some(done_rx);
        Ok(())
    }
    fn after_run(&mut self, _: &mut SessionRunContext<'_>, _: &SessionRunValues<'_>) -> Result<()> {
        if self.calls_before_stopping == 0 {
            return Ok(());
        }
        self.calls_before_stopping -= 1;
        if self.calls_before_stopping == 0 {
            if let (Some(go), Some(done)) = (&self.go, &self.done) {
                go.send(()).unwrap();
                done.recv().unwrap();
            }
            if self.fail_training {
                if let Some(coord) = &self.coord {
                    if let Err(e) = coord.raise_requested_exception() {
                        if e.code() == ferroflow_core::Code::Aborted {
                            return Err(Error::cancelled("Session got garbage-collected."));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
