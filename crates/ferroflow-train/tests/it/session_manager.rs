//! SM-001..SM-028 (`session_manager_test.py`). Waits use `recovery_wait_secs = 1` where TF's test
//! relies on the 30 s default only to bound the wait.

use crate::common::*;
use ferroflow_core::{Code, DType, PartialShape, Result, Tensor};
use ferroflow_graph::{Graph, GraphBuilder, Output, Variable, VariableOptions};
use ferroflow_session::{DirectSession, Fetch, Session, SessionExt, SessionFactory, SessionOptions};
use ferroflow_train::testing::SharedSession;
use ferroflow_train::{PrepareSessionOptions, Saver, SaverOptions, SessionManager, SessionManagerOptions};
use std::sync::Arc;

fn var(g: &mut GraphBuilder, name: &str, value: Tensor, opts: VariableOptions) -> Result<Variable> {
    let c = g.constant(value)?;
    g.variable(name, c, opts)
}

fn f32s(t: Vec<f32>) -> Tensor {
    Tensor::vector(t)
}

fn value(sess: &mut dyn Session, v: &Variable) -> Result<Vec<f32>> {
    sess.run(v.value(), &[])?.tensor()?.to_vec::<f32>()
}

fn is_init(sess: &mut dyn Session, v: &Variable) -> bool {
    sess.run(v.value(), &[]).is_ok()
}

fn manager(graph: Arc<Graph>, ready: Option<Output>) -> Result<SessionManager> {
    SessionManager::new(
        graph,
        SessionManagerOptions { ready_op: ready, recovery_wait_secs: 1.0, ..Default::default() },
    )
}

fn init_opts(op: ferroflow_graph::Operation) -> PrepareSessionOptions {
    PrepareSessionOptions { init_op: Some(Fetch::Op(op)), ..Default::default() }
}

/// The ready op of `ObsoleteSessionManagerTest` (`assert_variables_initialized`): fails with
/// "uninitialized" until `v` is initialized, then returns an int32 tensor (accepted as ready).
fn obsolete_ready(g: &mut GraphBuilder, v: &Variable) -> Result<Output> {
    g.cast(v.value(), DType::I32)
}

fn prepare_succeeds(obsolete: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![1.0, 2.0, 3.0]), Default::default())?;
    let ready = if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
    let init = g.global_variables_initializer()?;
    let sm = manager(g.finalize(), Some(ready))?;
    let mut sess = sm.prepare_session("", init_opts(init))?;
    assert_eq!(value(&mut *sess, &v)?, [1.0, 2.0, 3.0]);
    Ok(())
}

// SM-001 testPrepareSessionSucceeds, SM-023 (obsolete ready op)
#[test]
fn sm001_sm023_prepare_session_succeeds() -> Result<()> {
    prepare_succeeds(false)?;
    prepare_succeeds(true)
}

fn prepare_with_feed(obsolete: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let p = g.placeholder(DType::F32, PartialShape::known(&[3]), "p")?;
    let v = g.variable("v", p, Default::default())?;
    let ready = if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
    let init = g.global_variables_initializer()?;
    let sm = manager(g.finalize(), Some(ready))?;
    let opts =
        PrepareSessionOptions { init_feed_dict: vec![(p, f32s(vec![1.0, 2.0, 3.0]))], ..init_opts(init) };
    let mut sess = sm.prepare_session("", opts)?;
    assert_eq!(value(&mut *sess, &v)?, [1.0, 2.0, 3.0]);
    Ok(())
}

// SM-002 testPrepareSessionSucceedsWithInitFeedDict, SM-024
#[test]
fn sm002_sm024_prepare_session_with_init_feed_dict() -> Result<()> {
    prepare_with_feed(false)?;
    prepare_with_feed(true)
}

fn prepare_with_init_fn(obsolete: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![125.0]), Default::default())?;
    let ready = if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
    let sm = manager(g.finalize(), Some(ready))?;
    let init = v.initializer;
    let init_fn: ferroflow_train::InitFn = Arc::new(move |s: &mut dyn Session| s.run(init, &[]).map(|_| ()));
    let mut sess =
        sm.prepare_session("", PrepareSessionOptions { init_fn: Some(init_fn), ..Default::default() })?;
    assert_eq!(value(&mut *sess, &v)?, [125.0]);
    Ok(())
}

// SM-003 testPrepareSessionSucceedsWithInitFn, SM-025
#[test]
fn sm003_sm025_prepare_session_with_init_fn() -> Result<()> {
    prepare_with_init_fn(false)?;
    prepare_with_init_fn(true)
}

// SM-004 testPrepareSessionSucceedsWithLocalInitFeedDict
#[test]
fn sm004_prepare_session_with_local_init_feed_dict() -> Result<()> {
    let mut g = GraphBuilder::new();
    let p = g.placeholder(DType::F32, PartialShape::known(&[3]), "p")?;
    let v = g.variable("v", p, VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions {
            local_init_op: Some(Fetch::Op(v.initializer)),
            local_init_feed_dict: vec![(p, f32s(vec![1.0, 2.0, 3.0]))],
            ready_op: Some(ready),
            ..Default::default()
        },
    )?;
    let mut sess = sm.prepare_session("", PrepareSessionOptions::default())?;
    assert_eq!(value(&mut *sess, &v)?, [1.0, 2.0, 3.0]);
    Ok(())
}

/// Saves v=[1,2,3] into `dir` through a fresh graph.
fn save_checkpoint(dir: &std::path::Path, v_value: Vec<f32>) -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(v_value), Default::default())?;
    let init = g.global_variables_initializer()?;
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    let _ = v;
    saver.save(&mut sess, dir.join("ckpt"), None)?;
    Ok(())
}

fn prepare_fails(obsolete: bool) -> Result<()> {
    let root = tempdir();
    let dir = root.path().join("prepare_session");
    let moved = root.path().join("prepare_session_moved");
    std::fs::create_dir(&dir)?;
    save_checkpoint(&dir, vec![1.0, 2.0, 3.0])?;
    std::fs::rename(&dir, &moved)?;

    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![6.0, 7.0, 8.0]), Default::default())?;
    let ready = if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let sm = manager(g.finalize(), Some(ready))?;
    let opts = PrepareSessionOptions {
        saver: Some(saver),
        checkpoint_dir: Some(dir.clone()),
        wait_for_checkpoint: true,
        max_wait_secs: 2.0,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let err = sm.prepare_session("", opts.clone()).err().unwrap();
    assert!(start.elapsed().as_secs_f64() >= 1.0, "waited for the checkpoint");
    assert!(err.message().contains("no init_op or init_fn or local_init_op was given"), "{err}");
    std::fs::rename(&moved, &dir)?;
    let mut sess = sm.prepare_session("", opts)?;
    assert_eq!(value(&mut *sess, &v)?, [1.0, 2.0, 3.0], "restored, not re-initialized");
    Ok(())
}

// SM-005 testPrepareSessionFails, SM-026
#[test]
fn sm005_sm026_prepare_session_fails() -> Result<()> {
    prepare_fails(false)?;
    prepare_fails(true)
}

fn recover(obsolete: bool) -> Result<()> {
    let root = tempdir();
    let dir = root.path().to_path_buf();
    {
        let mut g = GraphBuilder::new();
        let v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
        let ready =
            if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
        let saver = Saver::new(&mut g, None, SaverOptions::default())?;
        let sm = manager(g.finalize(), Some(ready))?;
        let opts = PrepareSessionOptions {
            saver: Some(saver.clone()),
            checkpoint_dir: Some(dir.clone()),
            ..Default::default()
        };
        let (mut sess, initialized) = sm.recover_session("", opts)?;
        assert!(!initialized);
        sess.run(v.initializer, &[])?;
        assert_eq!(value(&mut *sess, &v)?, [1.0]);
        saver.save(&mut *sess, dir.join("recover_session_checkpoint"), None)?;
    }
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![2.0]), Default::default())?;
    let ready = if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
    let saver = Saver::new(&mut g, None, SaverOptions::default())?;
    let sm = manager(g.finalize(), Some(ready))?;
    let opts = PrepareSessionOptions {
        saver: Some(saver.clone()),
        checkpoint_dir: Some(dir.clone()),
        ..Default::default()
    };
    let (mut sess, initialized) = sm.recover_session("", opts.clone())?;
    assert!(initialized);
    assert_eq!(value(&mut *sess, &v)?, [1.0]);
    if !obsolete {
        let latest = Saver::latest_checkpoint(&dir)?.unwrap();
        let by_path = PrepareSessionOptions {
            saver: Some(saver.clone()),
            checkpoint_filename_with_path: Some(latest.clone()),
            ..Default::default()
        };
        let (mut sess, initialized) = sm.recover_session("", by_path)?;
        assert!(initialized);
        assert_eq!(value(&mut *sess, &v)?, [1.0]);
        let both = PrepareSessionOptions { checkpoint_filename_with_path: Some(latest), ..opts };
        let err = sm.recover_session("", both).err().unwrap();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), "Can not provide both checkpoint_dir and checkpoint_filename_with_path.");
    }
    Ok(())
}

// SM-006 testRecoverSession, SM-027
#[test]
fn sm006_sm027_recover_session() -> Result<()> {
    recover(false)?;
    recover(true)
}

fn wait_times_out(obsolete: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let ready = if obsolete { obsolete_ready(&mut g, &v)? } else { g.report_uninitialized_variables(None)? };
    let sm = manager(g.finalize(), Some(ready))?;
    let start = std::time::Instant::now();
    let err = sm.wait_for_session("", &SessionOptions::default(), Some(3.0)).err().unwrap();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(err.message(), "Session was not ready after waiting 3 secs.");
    assert!(start.elapsed().as_secs_f64() < 4.5);
    Ok(())
}

// SM-007 testWaitForSessionReturnsNoneAfterTimeout, SM-028
#[test]
fn sm007_sm028_wait_for_session_times_out() -> Result<()> {
    wait_times_out(false)?;
    wait_times_out(true)
}

// SM-008 testInitWithNoneLocalInitOpError
#[test]
fn sm008_init_with_none_local_init_op_error() -> Result<()> {
    let mut g = GraphBuilder::new();
    let r = g.report_uninitialized_variables(None)?;
    let err = SessionManager::new(
        g.finalize(),
        SessionManagerOptions { ready_for_local_init_op: Some(r), ..Default::default() },
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err
        .message()
        .starts_with("If you pass a ready_for_local_init_op you must also pass a local_init_op "));
    Ok(())
}

/// Graph of SM-009/010: global v (init 2), local w = v's value (init after v), saver for v.
fn v_w_graph(all_uninitialized: bool) -> Result<(Arc<Graph>, Variable, Variable, Saver, Output, Output)> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![2.0]), Default::default())?;
    let w = g.variable("w", v.value(), VariableOptions::local())?;
    let saver = Saver::new(&mut g, Some(std::slice::from_ref(&v)), SaverOptions::default())?;
    let ready = g.report_uninitialized_variables(None)?;
    let rfl = if all_uninitialized {
        g.report_uninitialized_variables(None)?
    } else {
        let globals = g.global_variables();
        g.report_uninitialized_variables(Some(&globals))?
    };
    Ok((g.finalize(), v, w, saver, ready, rfl))
}

fn recover_with_local(all_uninitialized: bool) -> Result<(Box<dyn Session>, bool, Variable, Variable)> {
    let root = tempdir();
    save_checkpoint(root.path(), vec![1.0])?;
    let (graph, v, w, saver, ready, rfl) = v_w_graph(all_uninitialized)?;
    let sm = SessionManager::new(
        graph,
        SessionManagerOptions {
            ready_op: Some(ready),
            ready_for_local_init_op: Some(rfl),
            local_init_op: Some(Fetch::Op(w.initializer)),
            ..Default::default()
        },
    )?;
    let opts = PrepareSessionOptions {
        saver: Some(saver),
        checkpoint_dir: Some(root.path().into()),
        ..Default::default()
    };
    let (sess, initialized) = sm.recover_session("", opts)?;
    Ok((sess, initialized, v, w))
}

// SM-009 testRecoverSessionWithReadyForLocalInitOp
#[test]
fn sm009_recover_session_with_ready_for_local_init_op() -> Result<()> {
    let (mut sess, initialized, v, w) = recover_with_local(false)?;
    assert!(initialized);
    assert_eq!(value(&mut *sess, &v)?, [1.0]);
    assert_eq!(value(&mut *sess, &w)?, [1.0]);
    Ok(())
}

// SM-010 testRecoverSessionWithReadyForLocalInitOpFailsToReadyLocal
#[test]
fn sm010_recover_session_fails_to_ready_local() -> Result<()> {
    let (mut sess, initialized, v, w) = recover_with_local(true)?;
    assert!(!initialized);
    assert_eq!(value(&mut *sess, &v)?, [1.0]);
    assert!(!is_init(&mut *sess, &w), "local init skipped");
    Ok(())
}

// SM-011 testRecoverSessionNoChkptStillRunsLocalInitOp
#[test]
fn sm011_recover_session_no_checkpoint_still_runs_local_init_op() -> Result<()> {
    let mut g = GraphBuilder::new();
    let w = var(&mut g, "w", f32s(vec![1.0]), VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions {
            ready_op: Some(ready),
            local_init_op: Some(Fetch::Op(w.initializer)),
            ..Default::default()
        },
    )?;
    let (mut sess, initialized) = sm.recover_session("", PrepareSessionOptions::default())?;
    assert!(!initialized);
    assert_eq!(value(&mut *sess, &w)?, [1.0]);
    Ok(())
}

// SM-012 testRecoverSessionFailsStillRunsLocalInitOp
#[test]
fn sm012_recover_session_fails_still_runs_local_init_op() -> Result<()> {
    let root = tempdir();
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![2.0]), Default::default())?;
    let w = var(&mut g, "w", f32s(vec![1.0]), VariableOptions::local())?;
    let saver = Saver::new(&mut g, Some(std::slice::from_ref(&v)), SaverOptions::default())?;
    let ready = g.report_uninitialized_variables(None)?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions {
            ready_op: Some(ready),
            local_init_op: Some(Fetch::Op(w.initializer)),
            ..Default::default()
        },
    )?;
    let opts = PrepareSessionOptions {
        saver: Some(saver),
        checkpoint_dir: Some(root.path().into()),
        ..Default::default()
    };
    let (mut sess, initialized) = sm.recover_session("", opts)?;
    assert!(!initialized);
    assert!(!is_init(&mut *sess, &v));
    assert_eq!(value(&mut *sess, &w)?, [1.0]);
    Ok(())
}

/// A "server": every session is the same shared in-process session.
struct SharedFactory(SharedSession);

impl SessionFactory for SharedFactory {
    fn new_session(&self, _: &str, _: Arc<Graph>, _: &SessionOptions) -> Result<Box<dyn Session>> {
        Ok(Box::new(self.0.clone()))
    }
}

// SM-013 testWaitForSessionLocalInit (a shared session stands in for the local server)
#[test]
fn sm013_wait_for_session_local_init() -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let w = g.variable("w", v.value(), VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let globals = g.global_variables();
    let rfl = g.report_uninitialized_variables(Some(&globals))?;
    let graph = g.finalize();
    let mut server = SharedSession::new(Box::new(DirectSession::new(Arc::clone(&graph))));
    server.run(v.initializer, &[])?;
    let sm = SessionManager::new(
        graph,
        SessionManagerOptions {
            ready_op: Some(ready),
            ready_for_local_init_op: Some(rfl),
            local_init_op: Some(Fetch::Op(w.initializer)),
            recovery_wait_secs: 1.0,
            factory: Arc::new(SharedFactory(server)),
            ..Default::default()
        },
    )?;
    let mut sess = sm.wait_for_session("grpc://server", &SessionOptions::default(), Some(3.0))?;
    assert_eq!(value(&mut *sess, &v)?, [1.0]);
    assert_eq!(value(&mut *sess, &w)?, [1.0]);
    Ok(())
}

fn wait_deadline(rfl_all: bool, rfl_none: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let _v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    // TF's w reads v through an initialized-value guard; a constant keeps the point of the test (the local
    // init op runs, v stays uninitialized).
    let w = var(&mut g, "w", f32s(vec![1.0]), VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let rfl = if rfl_none {
        None
    } else if rfl_all {
        Some(g.report_uninitialized_variables(None)?)
    } else {
        let globals = g.global_variables();
        Some(g.report_uninitialized_variables(Some(&globals))?)
    };
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions {
            ready_op: Some(ready),
            ready_for_local_init_op: rfl,
            local_init_op: Some(Fetch::Op(w.initializer)),
            recovery_wait_secs: 1.0,
            ..Default::default()
        },
    )?;
    let err = sm.wait_for_session("", &SessionOptions::default(), Some(3.0)).err().unwrap();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(err.message().starts_with("Session was not ready after waiting"));
    Ok(())
}

// SM-014 testWaitForSessionWithReadyForLocalInitOpFailsToReadyLocal
#[test]
fn sm014_wait_for_session_fails_to_ready_local() -> Result<()> {
    wait_deadline(true, false)
}

// SM-015 testWaitForSessionInsufficientReadyForLocalInitCheck
#[test]
fn sm015_wait_for_session_insufficient_ready_for_local_init_check() -> Result<()> {
    wait_deadline(false, true)
}

// SM-016 testPrepareSessionWithReadyForLocalInitOp
#[test]
fn sm016_prepare_session_with_ready_for_local_init_op() -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let w = g.variable("w", v.value(), VariableOptions::local())?;
    let three = g.constant(f32s(vec![3.0]))?;
    let x3 = g.mul(v.value(), three)?;
    let x = g.variable("x", x3, VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let globals = g.global_variables();
    let rfl = g.report_uninitialized_variables(Some(&globals))?;
    let local = g.group(&[w.initializer, x.initializer], "local_init")?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions {
            ready_op: Some(ready),
            ready_for_local_init_op: Some(rfl),
            local_init_op: Some(Fetch::Op(local)),
            ..Default::default()
        },
    )?;
    let mut sess = sm.prepare_session("", init_opts(v.initializer))?;
    assert_eq!(value(&mut *sess, &v)?, [1.0]);
    assert_eq!(value(&mut *sess, &w)?, [1.0]);
    assert_eq!(value(&mut *sess, &x)?, [3.0]);
    Ok(())
}

// SM-017 testPrepareSessionWithPartialInitOp (w and x from constants; see wait_deadline)
#[test]
fn sm017_prepare_session_with_partial_init_op() -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let w = var(&mut g, "w", f32s(vec![1.0]), VariableOptions::local())?;
    let x = var(&mut g, "x", f32s(vec![3.0]), VariableOptions::local())?;
    let local = g.group(&[w.initializer, x.initializer], "local_init")?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions { local_init_op: Some(Fetch::Op(local)), ..Default::default() },
    )?;
    let mut sess = sm.prepare_session("", PrepareSessionOptions::default())?;
    assert!(!is_init(&mut *sess, &v));
    assert_eq!(value(&mut *sess, &w)?, [1.0]);
    assert_eq!(value(&mut *sess, &x)?, [3.0]);
    Ok(())
}

fn did_not_init_local(as_list: bool) -> Result<()> {
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let _w = var(&mut g, "w", f32s(vec![1.0]), VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions { ready_op: Some(ready), ..Default::default() },
    )?;
    let init = if as_list { Fetch::List(vec![Fetch::Op(v.initializer)]) } else { Fetch::Op(v.initializer) };
    let err = sm
        .prepare_session("", PrepareSessionOptions { init_op: Some(init), ..Default::default() })
        .err()
        .unwrap();
    assert!(err.message().starts_with("Init operations did not make model ready.  Init op: "), "{err}");
    assert!(err.message().contains("Variables not initialized: w"), "{err}");
    Ok(())
}

// SM-019 testPrepareSessionDidNotInitLocalVariable
#[test]
fn sm019_prepare_session_did_not_init_local_variable() -> Result<()> {
    did_not_init_local(false)
}

// SM-020 testPrepareSessionDidNotInitLocalVariableList
#[test]
fn sm020_prepare_session_did_not_init_local_variable_list() -> Result<()> {
    did_not_init_local(true)
}

fn not_ready(rfl_globals: bool) -> Result<String> {
    let mut g = GraphBuilder::new();
    let _v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let w = var(&mut g, "w", f32s(vec![1.0]), VariableOptions::local())?;
    let ready = g.report_uninitialized_variables(None)?;
    let rfl = if rfl_globals {
        let globals = g.global_variables();
        Some(g.report_uninitialized_variables(Some(&globals))?)
    } else {
        None
    };
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions {
            ready_op: Some(ready),
            ready_for_local_init_op: rfl,
            local_init_op: Some(Fetch::Op(w.initializer)),
            ..Default::default()
        },
    )?;
    Ok(sm.prepare_session("", PrepareSessionOptions::default()).err().unwrap().message().to_string())
}

// SM-021 testPrepareSessionWithReadyNotReadyForLocal
#[test]
fn sm021_prepare_session_not_ready_for_local() -> Result<()> {
    let msg = not_ready(true)?;
    assert!(msg.starts_with("Init operations did not make model ready for local_init"), "{msg}");
    Ok(())
}

// SM-022 testPrepareSessionWithInsufficientReadyForLocalInitCheck
#[test]
fn sm022_prepare_session_insufficient_ready_for_local_init_check() -> Result<()> {
    let msg = not_ready(false)?;
    assert!(msg.starts_with("Init operations did not make model ready.  "), "{msg}");
    assert!(msg.contains("Variables not initialized: v"), "{msg}");
    Ok(())
}

// With the default 30 s recovery wait and max_wait_secs=3, TF makes exactly one attempt, then raises.
#[test]
fn wait_for_session_makes_one_attempt_when_the_wait_exceeds_the_budget() -> Result<()> {
    let mut g = GraphBuilder::new();
    let _v = var(&mut g, "v", f32s(vec![1.0]), Default::default())?;
    let ready = g.report_uninitialized_variables(None)?;
    let sm = SessionManager::new(
        g.finalize(),
        SessionManagerOptions { ready_op: Some(ready), ..Default::default() },
    )?;
    let start = std::time::Instant::now();
    let err = sm.wait_for_session("", &SessionOptions::default(), Some(3.0)).err().unwrap();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(start.elapsed().as_secs_f64() < 1.0, "no sleep");
    Ok(())
}

// A worker over a "server" (a shared session): it times out while nothing initialized the model, and
// gets a ready session, without initializing anything itself, once the chief has.
#[test]
fn worker_waits_for_the_chief() -> Result<()> {
    use ferroflow_train::{MonitoredSession, Scaffold, SessionCreator, WorkerSessionCreator};
    let mut g = GraphBuilder::new();
    let v = var(&mut g, "v", f32s(vec![7.0]), Default::default())?;
    let mut chief_scaffold = Scaffold::new();
    let graph = chief_scaffold.finalize(&mut g)?;
    let mut server = SharedSession::new(Box::new(DirectSession::new(graph)));
    let factory: Arc<dyn SessionFactory> = Arc::new(SharedFactory(server.clone()));

    let mut lonely = WorkerSessionCreator::new(Scaffold::new())
        .master("grpc://ps:2222")
        .max_wait(Some(std::time::Duration::from_millis(10)))
        .factory(Arc::clone(&factory));
    lonely.finalize(&mut g)?;
    assert_eq!(lonely.create_session().err().unwrap().code(), Code::DeadlineExceeded);

    // What the chief's creator does: run the init op on the server.
    server.run(chief_scaffold.init_op().unwrap(), &[])?;
    let worker = WorkerSessionCreator::new(Scaffold::new()).master("grpc://ps:2222").factory(factory);
    let mut sess = MonitoredSession::builder(g).session_creator(worker).build()?;
    assert_eq!(sess.run(v.value(), &[])?.tensor()?.to_vec::<f32>()?, [7.0]);
    Ok(())
}
