//! Helpers for the ports of `basic_session_run_hooks_test.py`: TF drives a hook through
//! `_HookedSession(sess, [hook])` after `hook.begin()`, without `after_create_session` unless the test
//! calls it. [`Driven`] does the same on a `SingularMonitoredSession` by hiding `after_create_session`
//! from the hook, and keeps the hook reachable for the test.

use ferroflow_core::{Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output, Variable};
use ferroflow_session::{Fetch, Fetched, Session, SessionExt};
use ferroflow_summary::read_events;
use ferroflow_train::{Coordinator, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_train::{Saver, SingularMonitoredSession};
use parking_lot::Mutex;
use std::path::Path;
use std::sync::Arc;

/// A hook shared with the test; `after_create_session` is forwarded only when `create` is set.
pub struct Shared<H> {
    pub hook: Arc<Mutex<H>>,
    pub create: bool,
}

impl<H> Clone for Shared<H> {
    fn clone(&self) -> Self {
        Shared { hook: Arc::clone(&self.hook), create: self.create }
    }
}

impl<H: SessionRunHook> SessionRunHook for Shared<H> {
    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.hook.lock().begin(graph)
    }
    fn after_create_session(&mut self, session: &mut dyn Session, coord: &Arc<Coordinator>) -> Result<()> {
        if self.create {
            self.hook.lock().after_create_session(session, coord)?;
        }
        Ok(())
    }
    fn before_run(&mut self, ctx: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        self.hook.lock().before_run(ctx)
    }
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        self.hook.lock().after_run(ctx, values)
    }
    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        self.hook.lock().end(session)
    }
}

/// A hook under test in a session, as TF's `_HookedSession(sess, [hook])`.
pub struct Driven<H> {
    pub sess: SingularMonitoredSession,
    pub hook: Arc<Mutex<H>>,
}

impl<H: SessionRunHook + 'static> Driven<H> {
    /// Begins the hook, creates the session (init), and does not call `after_create_session`.
    pub fn new(g: GraphBuilder, hook: H) -> Self {
        Self::build(g, hook, false)
    }

    fn build(g: GraphBuilder, hook: H, create: bool) -> Self {
        let hook = Arc::new(Mutex::new(hook));
        let sess = SingularMonitoredSession::builder(g)
            .hook(Shared { hook: Arc::clone(&hook), create })
            .build()
            .unwrap();
        Driven { sess, hook }
    }

    pub fn run(&mut self, fetch: impl Into<Fetch>) -> Fetched {
        self.sess.run(fetch, &[]).unwrap()
    }

    /// Calls the hook's `after_create_session` now (TF tests call it by hand).
    pub fn after_create_session(&mut self) {
        let coord = self.sess.coordinator().unwrap();
        let raw = self.sess.raw_session().unwrap();
        self.hook.lock().after_create_session(raw, &coord).unwrap();
    }

    /// The hook's `end` with the raw session (TF tests call `hook.end(sess)`).
    pub fn end(&mut self) -> Result<()> {
        let raw = self.sess.raw_session().unwrap();
        self.hook.lock().end(Some(raw))
    }

    pub fn raw(&mut self) -> &mut dyn Session {
        self.sess.raw_session().unwrap()
    }
}

/// A graph with `get_or_create_global_step`, `train = gs += inc`, and `set = gs.assign(p)`.
pub struct GsGraph {
    pub g: GraphBuilder,
    pub gs: Variable,
    pub train: Output,
    pub p: Output,
    pub set: Output,
}

pub fn gs_graph(inc: i64) -> GsGraph {
    let mut g = GraphBuilder::new();
    let gs = g.get_or_create_global_step().unwrap();
    let c = g.constant(Tensor::scalar(inc)).unwrap();
    let train = g.assign_add(&gs, c).unwrap();
    let p =
        g.placeholder(ferroflow_core::DType::I64, ferroflow_core::PartialShape::scalar(), "set_gs").unwrap();
    let set = g.assign(&gs, p).unwrap();
    GsGraph { g, gs, train, p, set }
}

/// Sets the global step through the raw session.
pub fn set_gs(sess: &mut dyn Session, set: Output, p: Output, v: i64) {
    sess.run(set, &[(p, Tensor::scalar(v))]).unwrap();
}

/// TF tests' `checkpoint_utils.load_variable(model_dir, global_step)`: the step of the newest checkpoint
/// (from its `-<step>` suffix, which the hook writes with the value it saved).
pub fn ckpt_step(dir: &Path) -> Option<i64> {
    let p = Saver::latest_checkpoint(dir).unwrap()?;
    let name = p.file_name()?.to_string_lossy().into_owned();
    name.rsplit('-').next()?.parse().ok()
}

/// Every event of the event files in `dir` (oldest file first).
pub fn events_in(dir: &Path) -> Vec<ferroflow_proto::Event> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("events.")))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let mut r = read_events(&f).unwrap();
        while let Some(e) = r.read_event().unwrap() {
            out.push(e);
        }
    }
    out
}

/// `(step, tag, simple_value)` of every scalar summary in `dir`.
pub fn scalars_in(dir: &Path) -> Vec<(i64, String, f32)> {
    let mut out = Vec::new();
    for e in events_in(dir) {
        if let Some(ferroflow_proto::EventWhat::Summary(s)) = &e.what {
            for v in &s.value {
                if let Some(ferroflow_proto::SummaryValueKind::SimpleValue(x)) = &v.value {
                    out.push((e.step, v.tag.clone(), *x));
                }
            }
        }
    }
    out
}

/// `(step, status)` of every session log in `dir`.
pub fn session_logs_in(dir: &Path) -> Vec<(i64, i32, String)> {
    events_in(dir)
        .into_iter()
        .filter_map(|e| match e.what {
            Some(ferroflow_proto::EventWhat::SessionLog(l)) => Some((e.step, l.status, l.checkpoint_path)),
            _ => None,
        })
        .collect()
}
