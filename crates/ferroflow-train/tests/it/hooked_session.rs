//! MS-051..MS-058 (`HookedSessionTest`) and the hook-protocol contract. TF drives `_HookedSession`
//! directly; here it is reached through `SingularMonitoredSession`, whose stack is Coordinated -> Hooked ->
//! raw, so `begin`/`after_create_session` counts are 1 instead of 0.

use crate::common::*;
use ferroflow_core::{Code, DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{
    DirectSession, Fetch, Fetched, RunMetadata, RunOptions, RunOutputs, RunRequest, Session, TraceLevel,
};
use ferroflow_train::testing::{CallLog, FnSessionCreator, RecordingHook, ScriptedSession};
use ferroflow_train::{MonitoredSession, SessionRunArgs, SingularMonitoredSession};
use parking_lot::Mutex;
use std::sync::Arc;

fn vec_const(g: &mut GraphBuilder, v: Vec<i32>) -> Result<Output> {
    g.constant(Tensor::vector(v))
}

/// A session that records the requests it got.
struct RecordingSession {
    inner: DirectSession,
    requests: Arc<Mutex<Vec<RunRequest>>>,
}

impl Session for RecordingSession {
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
        self.requests.lock().push(request.clone());
        self.inner.run_request(request)
    }
    fn graph(&self) -> &Arc<ferroflow_graph::Graph> {
        self.inner.graph()
    }
    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }
}

// MS-051 testRunPassesAllArguments: without hooks the caller's feeds and options reach the raw session
// unchanged, and its metadata comes back.
#[test]
fn ms051_run_passes_all_arguments() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = vec_const(&mut g, vec![0])?;
    let p = g.placeholder(DType::I32, PartialShape::scalar(), "p")?;
    let requests = Arc::new(Mutex::new(Vec::new()));
    let graph_holder: Arc<Mutex<Option<Arc<ferroflow_graph::Graph>>>> = Arc::default();
    let gh = Arc::clone(&graph_holder);
    let r3 = Arc::clone(&requests);
    let creator = FnSessionCreator::new(move || -> Result<Box<dyn Session>> {
        let graph = gh.lock().clone().ok_or_else(|| Error::internal("no graph"))?;
        Ok(Box::new(RecordingSession { inner: DirectSession::new(graph), requests: Arc::clone(&r3) }))
    });
    // The creator needs the frozen graph: freeze first, then hand it over.
    *graph_holder.lock() = Some(g.finalize());
    let mut sess = MonitoredSession::builder(g).session_creator(creator).build()?;
    let options =
        RunOptions { trace_level: TraceLevel::FullTrace, timeout_in_ms: 1234, ..Default::default() };
    let mut md = RunMetadata::default();
    let out = sess.run_with(a, &[(p, Tensor::scalar(7i32))], &options, Some(&mut md))?;
    assert_eq!(out.tensor()?.to_vec::<i32>()?, [0]);
    let req = requests.lock().last().cloned().unwrap();
    assert_eq!(req.options, options);
    assert_eq!(req.feeds.len(), 1);
    assert_eq!(req.feeds[0].0, p);
    assert!(!md.step_stats.dev_stats.is_empty(), "full trace fills the caller's metadata");
    Ok(())
}

// MS-052 testCallsHooksBeginEnd
#[test]
fn ms052_calls_hooks_and_passes_context() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = vec_const(&mut g, vec![0])?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    let mut sess = SingularMonitoredSession::builder(g).hook(h1.clone()).hook(h2.clone()).build()?;
    sess.run(a, &[])?;
    for h in [&h1, &h2] {
        let s = h.state();
        assert_eq!(s.results, Some(None), "no fetches asked: results None");
        assert_eq!(s.options, Some(RunOptions::default()));
        assert_eq!(s.metadata, Some(RunMetadata::default()));
        assert_eq!(s.original_args, Some(SessionRunArgs::new(a)));
        assert_eq!((s.begin, s.after_create_session, s.before_run, s.after_run, s.end), (1, 1, 1, 1, 0));
    }
    Ok(())
}

// MS-053 testShouldStop
#[test]
fn ms053_should_stop_latches_hook_request() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = vec_const(&mut g, vec![0])?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    let mut sess = SingularMonitoredSession::builder(g).hook(h1.clone()).hook(h2).build()?;
    sess.run(a, &[])?;
    assert!(!sess.should_stop()?);
    h1.state().should_stop = true;
    sess.run(a, &[])?;
    assert!(sess.should_stop()?);
    // TF: RuntimeError('Run called even after should_stop requested.')
    let err = sess.run(a, &[]).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("Run called even after should_stop requested."), "{err}");
    Ok(())
}

// MS-054 testFetchesHookRequests
#[test]
fn ms054_fetches_hook_requests() -> Result<()> {
    let mut g = GraphBuilder::new();
    let a = vec_const(&mut g, vec![0])?;
    let another = vec_const(&mut g, vec![5])?;
    let third = vec_const(&mut g, vec![10])?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    h1.state().request = Some(SessionRunArgs::new(vec![another]));
    h2.state().request = Some(SessionRunArgs::new(vec![third]));
    let mut sess = SingularMonitoredSession::builder(g).hook(h1.clone()).hook(h2.clone()).build()?;
    let out = sess.run(a, &[])?;
    assert_eq!(out.tensor()?.to_vec::<i32>()?, [0]);
    let r1 = h1.state().results.clone().unwrap().unwrap();
    let r2 = h2.state().results.clone().unwrap().unwrap();
    assert_eq!(r1.get(0)?.tensor()?.to_vec::<i32>()?, [5]);
    assert_eq!(r2.get(0)?.tensor()?.to_vec::<i32>()?, [10]);
    Ok(())
}

fn abc_graph() -> Result<(GraphBuilder, Output, Output, Output, Output, Output)> {
    let mut g = GraphBuilder::new();
    let a = g.placeholder(DType::F32, PartialShape::known(&[1]), "a")?;
    let b = g.placeholder(DType::F32, PartialShape::known(&[1]), "b")?;
    let c = g.placeholder(DType::F32, PartialShape::known(&[1]), "c")?;
    let ab = g.add(a, b)?;
    let abc = g.add(ab, c)?;
    Ok((g, a, b, c, ab, abc))
}

fn v1(x: f32) -> Tensor {
    Tensor::vector(vec![x])
}

// MS-055 testOnlyHooksHaveFeeds
#[test]
fn ms055_only_hooks_have_feeds() -> Result<()> {
    let (g, a, b, _, ab, _) = abc_graph()?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    h1.state().request = Some(SessionRunArgs::default().with_feeds(vec![(a, v1(5.0))]));
    h2.state().request = Some(SessionRunArgs::default().with_feeds(vec![(b, v1(10.0))]));
    let mut sess = SingularMonitoredSession::builder(g).hook(h1).hook(h2).build()?;
    assert_eq!(sess.run(ab, &[])?.tensor()?.to_vec::<f32>()?, [15.0]);
    Ok(())
}

// MS-056 testBothHooksAndUserHaveFeeds
#[test]
fn ms056_both_hooks_and_user_have_feeds() -> Result<()> {
    let (g, a, b, c, _, abc) = abc_graph()?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    h1.state().request = Some(SessionRunArgs::default().with_feeds(vec![(a, v1(5.0))]));
    h2.state().request = Some(SessionRunArgs::default().with_feeds(vec![(b, v1(10.0))]));
    let mut sess = SingularMonitoredSession::builder(g).hook(h1.clone()).hook(h2).build()?;
    let feeds = vec![(c, v1(20.0))];
    assert_eq!(sess.run(abc, &feeds)?.tensor()?.to_vec::<f32>()?, [35.0]);
    assert_eq!(feeds.len(), 1, "the user's feeds are not modified");
    assert_eq!(h1.state().original_args.as_ref().unwrap().feeds.len(), 1, "context holds only user feeds");
    Ok(())
}

// MS-057 testHooksFeedConflicts
#[test]
fn ms057_hooks_feed_conflicts() -> Result<()> {
    let (g, a, _, _, ab, _) = abc_graph()?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    h1.state().request = Some(SessionRunArgs::default().with_feeds(vec![(a, v1(5.0))]));
    h2.state().request = Some(SessionRunArgs::default().with_feeds(vec![(a, v1(10.0))]));
    let mut sess = SingularMonitoredSession::builder(g).hook(h1).hook(h2.clone()).build()?;
    let err = sess.run(ab, &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("Same tensor is fed by two hooks. Conflict(s): ['a:0']"), "{err}");
    assert_eq!(h2.state().after_run, 0);
    Ok(())
}

// MS-058 testHooksAndUserFeedConflicts
#[test]
fn ms058_hooks_and_user_feed_conflicts() -> Result<()> {
    let (g, a, b, _, ab, _) = abc_graph()?;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    h1.state().request = Some(SessionRunArgs::default().with_feeds(vec![(a, v1(5.0))]));
    h2.state().request = Some(SessionRunArgs::default().with_feeds(vec![(b, v1(10.0))]));
    let mut sess = SingularMonitoredSession::builder(g).hook(h1).hook(h2).build()?;
    let err = sess.run(ab, &[(b, v1(10.0))]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("Same tensor is fed by a SessionRunHook and user. Conflict(s): ['b:0']"),
        "{err}"
    );
    Ok(())
}

// Hook protocol (spec 1.1 / style guide 3.8): after_run skipped on a failed run, end still called after
// end of input; end not called after other errors.
#[test]
fn end_of_input_skips_after_run_but_runs_end() -> Result<()> {
    let creator =
        ScriptedSession::creator([Ok(RunOutputs::default()), Err(Error::out_of_range("end of input"))]);
    let (hook, calls) = RecordingHook::new();
    let mut sess =
        MonitoredSession::builder(GraphBuilder::new()).session_creator(creator).hook(hook).build()?;
    sess.run_request(&RunRequest::new())?;
    let err = sess.run_request(&RunRequest::new()).unwrap_err();
    assert!(err.is_end_of_input(), "got {err}");
    sess.close()?;
    assert_eq!(
        calls.take(),
        ["begin", "after_create_session", "before_run", "after_run", "before_run", "end"],
        "TF1 contract: after_run skipped on error, end still called after end of input",
    );
    Ok(())
}

#[test]
fn end_of_input_ends_a_scope_cleanly() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.constant(Tensor::scalar(1.0f32))?;
    let script = [
        Ok(RunOutputs { values: vec![Tensor::scalar(1.0f32)], ..Default::default() }),
        Err(Error::out_of_range("eof")),
    ];
    let (hook, calls) = RecordingHook::new();
    let mut sess =
        MonitoredSession::builder(g).session_creator(ScriptedSession::creator(script)).hook(hook).build()?;
    let done = sess.scope(|s| {
        s.run(x, &[])?;
        s.run(x, &[])?;
        Ok(())
    })?;
    assert_eq!(done, None, "end of input ends the block cleanly");
    assert_eq!(calls.count("end"), 1);
    Ok(())
}

// A monitored session is a `Session`: flat runs go through the hooks, and a Saver can save from it.
#[test]
fn monitored_session_is_a_session() -> Result<()> {
    let dir = tempdir();
    let (g, gstep, do_step) = gstep_graph()?;
    let (hook, calls) = RecordingHook::new();
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ferroflow_train::ChiefSessionCreator::new(ferroflow_train::Scaffold::new()))
        .hook(hook)
        .build()?;
    // The target runs, the fetched assign_add returns the new value.
    let mut req = RunRequest::new().target(gstep.initializer);
    let i = req.fetch(do_step);
    let out = sess.run_request(&req)?;
    assert_eq!(out.values[i].scalar_value::<i64>()?, 1);
    assert_eq!(calls.count("before_run"), 1);
    let saver = ferroflow_train::Saver::new(&mut GraphBuilder::new(), None, Default::default()).err();
    assert!(saver.is_some(), "no variables: a saver needs allow_empty");
    let graph = Session::graph(&sess).clone();
    let save_op = graph.collection(ferroflow_graph::GraphKeys::SAVERS)[0].as_op();
    let saver = ferroflow_train::Saver::from_save_op(&graph, save_op)?;
    let prefix = saver.save(&mut sess, dir.path().join("model.ckpt"), Some(1))?.unwrap();
    assert!(prefix.ends_with("model.ckpt-1"));
    assert_eq!(calls.count("before_run"), 2, "the save ran through the hooks");
    Ok(())
}

#[test]
fn other_errors_skip_end_and_name_the_hook() -> Result<()> {
    struct Failing;
    impl ferroflow_train::SessionRunHook for Failing {
        fn name(&self) -> &str {
            "Failing"
        }
        fn after_run(
            &mut self,
            _: &mut ferroflow_train::SessionRunContext<'_>,
            _: &ferroflow_train::SessionRunValues<'_>,
        ) -> Result<()> {
            Err(Error::invalid_argument("bad value"))
        }
    }
    let mut g = GraphBuilder::new();
    let x = g.constant(Tensor::scalar(1.0f32))?;
    let log = CallLog::default();
    let mut sess = MonitoredSession::builder(g)
        .hook(RecordingHook::named("first", &log))
        .hook(Failing)
        .hook(RecordingHook::named("last", &log))
        .build()?;
    let err = sess.scope(|s| s.run(x, &[]).map(|_| ())).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("hook Failing after_run"), "{err}");
    assert_eq!(
        log.take(),
        [
            "first:begin",
            "last:begin",
            "first:after_create_session",
            "last:after_create_session",
            "first:before_run",
            "last:before_run",
            "first:after_run"
        ],
        "later after_run skipped; no end after an error"
    );
    assert!(sess.is_closed());
    Ok(())
}

#[test]
fn same_tensor_fetched_by_caller_and_hooks_is_computed_once() -> Result<()> {
    let (mut g, gstep, do_step) = gstep_graph()?;
    let _ = &mut g;
    let (h1, h2) = (FakeHook::new(), FakeHook::new());
    h1.state().request = Some(SessionRunArgs::new(do_step));
    h2.state().request = Some(SessionRunArgs::new(Fetch::List(vec![do_step.into(), gstep.op.into()])));
    let mut sess = SingularMonitoredSession::builder(g).hook(h1.clone()).hook(h2.clone()).build()?;
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 1);
    assert_eq!(i64_of(h1.state().results.clone().unwrap().as_ref().unwrap()), 1);
    let r2 = h2.state().results.clone().unwrap().unwrap();
    assert_eq!(i64_of(r2.get(0)?), 1);
    assert_eq!(r2.get(1)?, &Fetched::None, "operations fetch as None");
    Ok(())
}
