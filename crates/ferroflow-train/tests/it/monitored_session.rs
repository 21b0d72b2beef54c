//! MS-059..MS-079 (`MonitoredSessionTest`) and MS-095..MS-101 (`SingularMonitoredSessionTest`).

use crate::common::*;
use ferroflow_core::{Code, Error, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Variable};
use ferroflow_session::{RunOptions, Session, SessionExt, TraceLevel};
use ferroflow_train::{
    ChiefSessionCreator, Coordinator, MonitoredSession, Saver, Scaffold, SessionRunArgs, SessionRunContext,
    SessionRunHook, SessionRunValues, SingularMonitoredSession,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

// MS-059 test_defaults
#[test]
fn ms059_defaults() -> Result<()> {
    let mut g = GraphBuilder::new();
    let zero = g.constant(Tensor::scalar(0i32))?;
    let v = g.variable("v", zero, Default::default())?;
    let mut sess = MonitoredSession::builder(g).build()?;
    assert_eq!(i32_of(&sess.run(v.value(), &[])?), 0);
    Ok(())
}

/// A test-local stand-in for `CheckpointSaverHook(save_steps=1)` (the real hook belongs to the hooks
/// issue): saves at session creation and after every run, with the scaffold's saver.
struct SaveEveryStep {
    dir: PathBuf,
    gstep: Variable,
    saver: Option<Saver>,
}

impl SessionRunHook for SaveEveryStep {
    fn begin(&mut self, g: &mut GraphBuilder) -> Result<()> {
        let saver = Saver::new(g, None, Default::default())?;
        g.add_to_collection(
            ferroflow_graph::GraphKeys::SAVERS,
            ferroflow_graph::CollectionItem::Op(saver.save_op()),
        )?;
        self.saver = Some(saver);
        Ok(())
    }
    fn after_create_session(&mut self, session: &mut dyn Session, _: &Arc<Coordinator>) -> Result<()> {
        self.save(session)
    }
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, _: &SessionRunValues<'_>) -> Result<()> {
        self.save(ctx.session())
    }
}

impl SaveEveryStep {
    fn save(&self, session: &mut dyn Session) -> Result<()> {
        let step = session.run(self.gstep.value(), &[])?.scalar::<i64>()?;
        if let Some(s) = &self.saver {
            s.save(session, self.dir.join("model.ckpt"), Some(step))?;
        }
        Ok(())
    }
}

// MS-062 test_recovery (with the test-local saving hook instead of CheckpointSaverHook).
#[test]
fn ms062_recovery_from_checkpoint_dir_and_path() -> Result<()> {
    let dir = tempdir();
    let (g, gstep, do_step) = gstep_graph()?;
    let hook = SaveEveryStep { dir: dir.path().into(), gstep: gstep.clone(), saver: None };
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_dir(dir.path()))
        .hook(hook)
        .build()?;
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 1);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 2);
    sess.close()?;

    let (g, gstep, _) = gstep_graph()?;
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_dir(dir.path()))
        .build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 2);
    sess.close()?;

    let (g, gstep, _) = gstep_graph()?;
    let latest = Saver::latest_checkpoint(dir.path())?.unwrap();
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_filename_with_path(latest))
        .build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 2);
    Ok(())
}

// MS-063 test_retry_initialization_on_aborted_error
#[test]
fn ms063_retry_initialization_on_aborted_error() -> Result<()> {
    let (g, gstep, _) = gstep_graph()?;
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = Arc::clone(&calls);
    let init_fn: ferroflow_train::InitFn = Arc::new(move |_s: &mut dyn Session| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::aborted("Abort"));
        }
        Ok(())
    });
    let scaffold = Scaffold::new().with_init_fn(init_fn);
    let mut sess =
        MonitoredSession::builder(g).session_creator(ChiefSessionCreator::new(scaffold)).build()?;
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "init_fn raised once, then ran again");
    Ok(())
}

fn retry_on(error: Error) -> Result<()> {
    let (g, gstep, do_step) = gstep_graph()?;
    let hook = RaiseOnceAtCountN::new(4, error);
    let mut sess = MonitoredSession::builder(g).hook(hook.clone()).build()?;
    sess.scope(|s| {
        assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
        assert!(!s.should_stop()?);
        // The 4th run raises; the session is recreated from scratch and the run retried.
        assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
        assert!(hook.raised());
        assert!(!s.should_stop()?);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
        assert!(!s.should_stop()?);
        Ok(())
    })?;
    Ok(())
}

// MS-064 test_retry_on_aborted_error
#[test]
fn ms064_retry_on_aborted_error() -> Result<()> {
    retry_on(Error::aborted("Abort"))
}

// MS-065 test_retry_on_unavailable_error
#[test]
fn ms065_retry_on_unavailable_error() -> Result<()> {
    retry_on(Error::unavailable("Unavailable"))
}

// MS-066 test_recover_and_retry_on_aborted_error (test-local saving hook for CheckpointSaverHook).
#[test]
fn ms066_recover_and_retry_on_aborted_error() -> Result<()> {
    let dir = tempdir();
    let (g, gstep, do_step) = gstep_graph()?;
    let abort = RaiseOnceAtCountN::new(4, Error::aborted("Abort"));
    let saving = SaveEveryStep { dir: dir.path().into(), gstep: gstep.clone(), saver: None };
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_dir(dir.path()))
        .hook(abort.clone())
        .hook(saving)
        .build()?;
    sess.scope(|s| {
        assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
        assert!(!s.should_stop()?);
        // Aborts, restores step 2 from the checkpoint, and re-runs.
        assert_eq!(i64_of(&s.run(do_step, &[])?), 3);
        assert!(abort.raised());
        assert!(!s.should_stop()?);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 4);
        assert!(!s.should_stop()?);
        Ok(())
    })?;
    Ok(())
}

// MS-067 test_exit_cleanly_on_out_of_range_exception (and MS-097 for Singular)
#[test]
fn ms067_exit_cleanly_on_out_of_range_exception() -> Result<()> {
    let (g, gstep, do_step) = gstep_graph()?;
    let hook = RaiseOnceAtCountN::new(2, Error::out_of_range("EOI"));
    let mut sess = MonitoredSession::builder(g).hook(hook.clone()).build()?;
    let mut after = false;
    let r = sess.scope(|s| {
        assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
        assert!(!s.should_stop()?);
        s.run(do_step, &[])?;
        after = true;
        Ok(())
    })?;
    assert_eq!(r, None);
    assert!(!after, "the block ended at the OutOfRange");
    assert!(hook.raised());
    assert!(sess.should_stop()?);
    Ok(())
}

#[test]
fn ms097_singular_exit_cleanly_on_out_of_range_exception() -> Result<()> {
    let (g, gstep, do_step) = gstep_graph()?;
    let hook = RaiseOnceAtCountN::new(2, Error::out_of_range("EOI"));
    let mut sess = SingularMonitoredSession::builder(g).hook(hook.clone()).build()?;
    let r = sess.scope(|s| {
        assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
        s.run(do_step, &[])?;
        panic!("not reached");
    })?;
    assert_eq!(r, None::<()>);
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-069 test_regular_exception_pass_through_run
#[test]
fn ms069_regular_exception_pass_through_run() -> Result<()> {
    let (g, gstep, do_step) = gstep_graph()?;
    let hook = RaiseOnceAtCountN::new(4, Error::unknown("regular exception"));
    let mut sess = MonitoredSession::builder(g).hook(hook.clone()).build()?;
    let err = sess
        .scope(|s| {
            assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
            assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
            assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
            assert!(!s.should_stop()?);
            s.run(do_step, &[])?;
            Ok(())
        })
        .unwrap_err();
    assert!(err.message().contains("regular exception"), "{err}");
    assert!(hook.raised());
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-070 test_regular_exception_reported_to_coord_pass_through_run (and MS-098 for Singular)
#[test]
fn ms070_exception_reported_to_coord_pass_through_run() -> Result<()> {
    let (g, gstep, _) = gstep_graph()?;
    let mut sess = MonitoredSession::builder(g).build()?;
    let err = sess
        .scope(|s| {
            assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
            s.coordinator().unwrap().request_stop(Some(Error::unknown("a thread wants to stop")))?;
            assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0, "run still works");
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.message(), "a thread wants to stop");
    Ok(())
}

#[test]
fn ms098_singular_exception_reported_to_coord_pass_through_run() -> Result<()> {
    let (g, gstep, _) = gstep_graph()?;
    let mut sess = SingularMonitoredSession::builder(g).build()?;
    let err = sess
        .scope(|s| {
            assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
            s.coordinator().unwrap().request_stop(Some(Error::unknown("a thread wants to stop")))?;
            assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.message(), "a thread wants to stop");
    Ok(())
}

// MS-071 test_regular_exception_reported_to_coord_pass_through_return
#[test]
fn ms071_exception_reported_to_coord_pass_through_return() -> Result<()> {
    let (g, gstep, _) = gstep_graph()?;
    let mut sess = MonitoredSession::builder(g).build()?;
    let err = sess
        .scope(|s| {
            assert_eq!(i64_of(&s.run(gstep.value(), &[])?), 0);
            s.coordinator().unwrap().request_stop(Some(Error::unknown("a thread wants to stop")))?;
            assert!(s.should_stop()?);
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.message(), "a thread wants to stop");
    Ok(())
}

// MS-072 test_stop_cleanly_when_no_exception_in_with_body (and MS-099 for Singular)
#[test]
fn ms072_stop_cleanly_when_no_exception_in_with_body() -> Result<()> {
    let (g, _, do_step) = gstep_graph()?;
    let mut sess = MonitoredSession::builder(g).build()?;
    sess.scope(|s| {
        assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
        assert!(!s.should_stop()?);
        Ok(())
    })?;
    assert!(sess.should_stop()?);
    assert!(sess.is_closed());
    Ok(())
}

#[test]
fn ms099_singular_stop_cleanly_when_no_exception_in_with_body() -> Result<()> {
    let (g, _, do_step) = gstep_graph()?;
    let mut sess = SingularMonitoredSession::builder(g).build()?;
    sess.scope(|s| {
        assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
        assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
        assert!(!s.should_stop()?);
        Ok(())
    })?;
    assert!(sess.should_stop()?);
    assert!(sess.raw_session().is_none());
    Ok(())
}

// MS-073 test_raises_regular_exceptions_in_with_body
#[test]
fn ms073_raises_regular_exceptions_in_with_body() -> Result<()> {
    let (g, _, do_step) = gstep_graph()?;
    let (hook, log) = ferroflow_train::testing::RecordingHook::new();
    let mut sess = MonitoredSession::builder(g).hook(hook).build()?;
    let err = sess
        .scope(|s| {
            assert_eq!(i64_of(&s.run(do_step, &[])?), 1);
            assert_eq!(i64_of(&s.run(do_step, &[])?), 2);
            assert!(!s.should_stop()?);
            Err::<(), _>(Error::unknown("Regular exception"))
        })
        .unwrap_err();
    assert_eq!(err.message(), "Regular exception");
    assert!(sess.should_stop()?);
    assert!(sess.is_closed());
    assert_eq!(log.count("end"), 0, "no end() after an error");
    Ok(())
}

// MS-074 test_graph (and MS-100 for Singular)
#[test]
fn ms074_ms100_graph() -> Result<()> {
    let (g, _, _) = gstep_graph()?;
    let id = g.id();
    let sess = MonitoredSession::builder(g).build()?;
    assert_eq!(sess.graph().unwrap().id(), id);
    let (g, _, _) = gstep_graph()?;
    let id = g.id();
    let sess = SingularMonitoredSession::builder(g).build()?;
    assert_eq!(sess.graph().unwrap().id(), id);
    Ok(())
}

// MS-076 test_keep_finalized_graph_as_finalized: a graph whose default ops exist (a scaffold was
// finalized) can be finalized before the session is built; nothing is added.
#[test]
fn ms076_keep_finalized_graph_as_finalized() -> Result<()> {
    let (mut g, gstep, _) = gstep_graph()?;
    Scaffold::new().finalize(&mut g)?;
    assert!(g.is_finalized());
    let mut sess = MonitoredSession::builder(g).build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 0);
    sess.close()?;
    Ok(())
}

struct OptionsHook {
    options: RunOptions,
    seen: Arc<parking_lot::Mutex<Vec<RunOptions>>>,
}

impl SessionRunHook for OptionsHook {
    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(Some(SessionRunArgs::default().with_options(self.options.clone())))
    }
    fn after_run(&mut self, _: &mut SessionRunContext<'_>, v: &SessionRunValues<'_>) -> Result<()> {
        self.seen.lock().push(v.options.clone());
        Ok(())
    }
}

fn opts(trace: TraceLevel, timeout: i64, partition: bool, oom: bool) -> RunOptions {
    RunOptions {
        trace_level: trace,
        timeout_in_ms: timeout,
        output_partition_graphs: partition,
        report_tensor_allocations_upon_oom: oom,
    }
}

// MS-077 test_merge_run_options_from_hooks (debug watches and partition graphs: not in our RunOptions).
#[test]
fn ms077_merge_run_options_from_hooks() -> Result<()> {
    let mut g = GraphBuilder::new();
    let my_const = g.constant(Tensor::scalar(42i32))?;
    let seen_a = Arc::default();
    let seen_b: Arc<parking_lot::Mutex<Vec<RunOptions>>> = Arc::default();
    let mut sess = MonitoredSession::builder(g)
        .hook(OptionsHook { options: opts(TraceLevel::HardwareTrace, 30000, false, false), seen: seen_a })
        .hook(OptionsHook {
            options: opts(TraceLevel::FullTrace, 60000, true, true),
            seen: Arc::clone(&seen_b),
        })
        .build()?;
    assert_eq!(i32_of(&sess.run(my_const, &[])?), 42);
    assert_eq!(*seen_b.lock(), [opts(TraceLevel::FullTrace, 60000, true, true)]);
    Ok(())
}

// MS-078 test_merge_caller_and_hook_run_options
#[test]
fn ms078_merge_caller_and_hook_run_options() -> Result<()> {
    let mut g = GraphBuilder::new();
    let my_const = g.constant(Tensor::scalar(42i32))?;
    let seen: Arc<parking_lot::Mutex<Vec<RunOptions>>> = Arc::default();
    let mut sess = MonitoredSession::builder(g)
        .hook(OptionsHook {
            options: opts(TraceLevel::HardwareTrace, 60000, false, false),
            seen: Arc::clone(&seen),
        })
        .build()?;
    let caller = opts(TraceLevel::FullTrace, 30000, true, true);
    let mut md = ferroflow_session::RunMetadata::default();
    assert_eq!(i32_of(&sess.run_with(my_const, &[], &caller, Some(&mut md))?), 42);
    assert_eq!(*seen.lock(), [opts(TraceLevel::FullTrace, 60000, true, true)]);
    Ok(())
}

// MS-079 test_with_statement_and_close, and the second close() of TF (end(None), then the error).
#[test]
fn ms079_with_statement_and_close() -> Result<()> {
    let (g, _, _) = gstep_graph()?;
    let (hook, log) = ferroflow_train::testing::RecordingHook::new();
    let mut sess = MonitoredSession::builder(g).hook(hook).build()?;
    let err = sess.scope(|s| s.close()).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.message(), "Session is already closed.");
    assert_eq!(log.take(), ["begin", "after_create_session", "end", "end(None)"]);
    Ok(())
}

// MS-095 test_handles_initialization, MS-101 test_raw_session
#[test]
fn ms095_ms101_singular_initializes_and_exposes_raw_session() -> Result<()> {
    let (g, gstep, _) = gstep_graph()?;
    let mut sess = SingularMonitoredSession::builder(g).build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 0);
    let raw = sess.raw_session().unwrap();
    assert_eq!(raw.run(gstep.value(), &[])?.scalar::<i64>()?, 0);
    Ok(())
}

// MS-096 test_do_not_handle_aborted_error
#[test]
fn ms096_singular_does_not_handle_aborted_error() -> Result<()> {
    struct AlwaysAbort;
    impl SessionRunHook for AlwaysAbort {
        fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
            Err(Error::aborted("Abort"))
        }
    }
    let (g, gstep, _) = gstep_graph()?;
    let mut sess = SingularMonitoredSession::builder(g).hook(AlwaysAbort).build()?;
    let r = sess.scope(|s| {
        assert_eq!(s.run(gstep.value(), &[]).unwrap_err().code(), Code::Aborted);
        Ok(())
    })?;
    assert_eq!(r, Some(()));
    let (g, gstep, _) = gstep_graph()?;
    let mut sess = SingularMonitoredSession::builder(g).hook(AlwaysAbort).build()?;
    let err = sess.scope(|s| s.run(gstep.value(), &[]).map(|_| ())).unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "not suppressed");
    Ok(())
}

// Hook begin/after_create_session/end counts across a recovery (spec 1.1, 2.5).
#[test]
fn after_create_session_runs_again_after_recovery() -> Result<()> {
    let (g, _, do_step) = gstep_graph()?;
    let fake = FakeHook::new();
    let mut sess = MonitoredSession::builder(g)
        .hook(RaiseOnceAtCountN::new(2, Error::unavailable("ps restarted")))
        .hook(fake.clone())
        .build()?;
    sess.run(do_step, &[])?;
    sess.run(do_step, &[])?;
    sess.close()?;
    let s = fake.state();
    assert_eq!((s.begin, s.after_create_session, s.before_run, s.after_run, s.end), (1, 2, 2, 2, 1));
    Ok(())
}

/// A test-local stand-in for `StopAtStepHook` (the real hook belongs to the hooks issue), with TF's
/// algorithm: last step fixed at the first `after_create_session`, stale read + 1, re-read before
/// stopping.
struct StopAtStep {
    num_steps: Option<i64>,
    last_step: Option<i64>,
    gstep: Variable,
}

impl SessionRunHook for StopAtStep {
    fn after_create_session(&mut self, session: &mut dyn Session, _: &Arc<Coordinator>) -> Result<()> {
        if self.last_step.is_none() {
            let gs = session.run(self.gstep.value(), &[])?.scalar::<i64>()?;
            self.last_step = Some(gs + self.num_steps.unwrap_or(0));
        }
        Ok(())
    }
    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(Some(SessionRunArgs::new(self.gstep.value())))
    }
    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, v: &SessionRunValues<'_>) -> Result<()> {
        let last = self.last_step.unwrap_or(i64::MAX);
        let estimate = v.results.map(|r| r.scalar::<i64>()).transpose()?.unwrap_or(0) + 1;
        if estimate >= last && ctx.session().run(self.gstep.value(), &[])?.scalar::<i64>()? >= last {
            ctx.request_stop();
        }
        Ok(())
    }
}

/// The graph of MS-060/061 with a saver in the `savers` collection.
fn stop_graph() -> Result<(GraphBuilder, Variable, ferroflow_graph::Output, Saver)> {
    let (mut g, gstep, do_step) = gstep_graph()?;
    let saver = Saver::new(&mut g, None, Default::default())?;
    g.add_to_collection(
        ferroflow_graph::GraphKeys::SAVERS,
        ferroflow_graph::CollectionItem::Op(saver.save_op()),
    )?;
    Ok((g, gstep, do_step, saver))
}

fn restoring_scaffold(saver: &Saver, path: PathBuf) -> Scaffold {
    let saver = saver.clone();
    let init_fn: ferroflow_train::InitFn = Arc::new(move |s: &mut dyn Session| saver.restore(s, &path));
    Scaffold::new().with_init_fn(init_fn)
}

// MS-060 test_last_step (the save uses SingularMonitoredSession::raw_session where TF uses `_tf_sess()`)
#[test]
fn ms060_last_step() -> Result<()> {
    let dir = tempdir();
    let (g, gstep, do_step, saver) = stop_graph()?;
    let hook = StopAtStep { num_steps: None, last_step: Some(3), gstep: gstep.clone() };
    let mut sess = SingularMonitoredSession::builder(g).hook(hook).build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 0);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 1);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 2);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 3);
    assert!(sess.should_stop()?);
    let path = saver.save(sess.raw_session().unwrap(), dir.path().join("step-3"), None)?.unwrap();
    sess.close()?;

    let (g, gstep, do_step, saver) = stop_graph()?;
    let hook = StopAtStep { num_steps: None, last_step: Some(5), gstep: gstep.clone() };
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(restoring_scaffold(&saver, path)))
        .hook(hook)
        .build()?;
    assert_eq!(i64_of(&sess.run(gstep.value(), &[])?), 3);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 4);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 5);
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-061 test_num_steps
#[test]
fn ms061_num_steps() -> Result<()> {
    let dir = tempdir();
    let (g, gstep, do_step, saver) = stop_graph()?;
    let hook = StopAtStep { num_steps: Some(3), last_step: None, gstep: gstep.clone() };
    let mut sess = SingularMonitoredSession::builder(g).hook(hook).build()?;
    sess.run(do_step, &[])?;
    assert!(!sess.should_stop()?);
    sess.run(do_step, &[])?;
    assert!(!sess.should_stop()?);
    sess.run(do_step, &[])?;
    assert!(sess.should_stop()?);
    let path = saver.save(sess.raw_session().unwrap(), dir.path().join("step-3"), None)?.unwrap();
    sess.close()?;

    let (g, gstep, do_step, saver) = stop_graph()?;
    let hook = StopAtStep { num_steps: Some(4), last_step: None, gstep };
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(restoring_scaffold(&saver, path)))
        .hook(hook)
        .build()?;
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 4);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 5);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 6);
    assert!(!sess.should_stop()?);
    assert_eq!(i64_of(&sess.run(do_step, &[])?), 7);
    assert!(sess.should_stop()?);
    Ok(())
}
