//! MS-041..MS-050 (`RecoverableSessionTest`): recovery from preemptions raised by runs, by the
//! coordinator, and by hooks.

use crate::common::*;
use ferroflow_core::{Code, Error, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{DirectSession, Session};
use ferroflow_train::testing::{FaultInjectingSession, FnSessionCreator, SharedSession};
use ferroflow_train::MonitoredSession;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

// MS-041 test_recovery
#[test]
fn ms041_recovery() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = c_v(&mut g)?;
    let graph = g.finalize();
    let mut sessions: VecDeque<Box<dyn Session>> = (1..=3)
        .map(|n| -> Box<dyn Session> {
            Box::new(FaultInjectingSession::abort_after(Box::new(DirectSession::new(Arc::clone(&graph))), n))
        })
        .collect();
    let creator = FnSessionCreator::new(move || {
        sessions.pop_front().ok_or_else(|| Error::internal("pop from empty list"))
    });
    let calls = creator.calls();
    let mut sess = MonitoredSession::builder(g).session_creator(creator).build()?;
    let feed = |x: i32| vec![(c, Tensor::scalar(x))];
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(i32_of(&sess.run(v, &feed(51))?), 51);
    assert_eq!(i32_of(&sess.run(v, &feed(42))?), 42, "recovered");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(i32_of(&sess.run(v, &feed(33))?), 33);
    assert_eq!(i32_of(&sess.run(v, &feed(24))?), 24, "recovered");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(i32_of(&sess.run(v, &feed(11))?), 11);
    assert_eq!(i32_of(&sess.run(v, &feed(0))?), 0);
    let err = sess.run(v, &feed(-12)).unwrap_err();
    assert_eq!(err.code(), Code::Internal, "a non-preemption error in creation propagates");
    assert!(err.message().contains("pop from empty list"));
    Ok(())
}

/// TF tests' `CountingSessionCreator`: the same raw session every time.
#[allow(clippy::type_complexity)]
fn counting(
    g: &mut GraphBuilder,
) -> (FnSessionCreator<impl FnMut() -> Result<Box<dyn Session>> + Send>, Arc<AtomicUsize>) {
    let shared = SharedSession::new(Box::new(DirectSession::new(g.finalize())));
    let creator = FnSessionCreator::new(move || -> Result<Box<dyn Session>> { Ok(Box::new(shared.clone())) });
    let calls = creator.calls();
    (creator, calls)
}

fn stack(error: Error, fail_training: bool) -> Result<(MonitoredSession, Arc<AtomicUsize>, Output, Output)> {
    let mut g = GraphBuilder::new();
    let (c, v) = c_v(&mut g)?;
    let (creator, calls) = counting(&mut g);
    let sess = MonitoredSession::builder(g)
        .session_creator(creator)
        .hook(StopCoordinatorWithException::new(2, error, fail_training))
        .build()?;
    Ok((sess, calls, c, v))
}

// MS-042 test_recovery_from_coordinator_exception
#[test]
fn ms042_recovery_from_coordinator_exception() -> Result<()> {
    let (mut sess, calls, c, v) = stack(Error::aborted("Aborted"), false)?;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(!sess.should_stop()?);
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(51i32))])?), 51);
    assert!(!sess.should_stop()?);
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(42i32))])?), 42);
    assert!(!sess.should_stop()?, "recovered inside should_stop");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

// MS-043 test_recovery_from_non_preemption_in_coordinator
#[test]
fn ms043_non_preemption_in_coordinator() -> Result<()> {
    let (mut sess, calls, c, v) = stack(Error::unknown("Some fatal error"), false)?;
    assert!(!sess.should_stop()?);
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(51i32))])?), 51);
    assert!(!sess.should_stop()?);
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(42i32))])?), 42);
    assert!(sess.should_stop()?);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(sess.close().unwrap_err().code(), Code::Unknown);
    Ok(())
}

// MS-044 test_recovery_from_session_getting_stuck
#[test]
fn ms044_recovery_from_session_getting_stuck() -> Result<()> {
    let (mut sess, calls, c, v) = stack(Error::aborted("Aborted"), true)?;
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(51i32))])?), 51);
    assert_eq!(
        i32_of(&sess.run(v, &[(c, Tensor::scalar(42i32))])?),
        42,
        "Cancelled promoted to Aborted, retried"
    );
    assert!(!sess.should_stop()?);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

fn step(sess: &mut MonitoredSession, c: Output, v: Output, x: i32) -> Result<i32> {
    sess.run_step_fn(|ctx| ctx.run_with_hooks(v, &[(c, Tensor::scalar(x))]).map(|f| i32_of(&f)))
}

// MS-045 test_step_fn_recovery_from_coordinator_exception_when_run_hooks
#[test]
fn ms045_step_fn_recovery_from_coordinator_exception() -> Result<()> {
    let (mut sess, calls, c, v) = stack(Error::aborted("Aborted"), false)?;
    assert_eq!(step(&mut sess, c, v, 51)?, 51);
    assert!(!sess.should_stop()?);
    assert_eq!(step(&mut sess, c, v, 42)?, 42);
    assert!(!sess.should_stop()?);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

// MS-046 test_recovery_from_non_preemption_in_coordinator_when_run_hooks
#[test]
fn ms046_step_fn_non_preemption_in_coordinator() -> Result<()> {
    let (mut sess, calls, c, v) = stack(Error::unknown("Some fatal error"), false)?;
    assert_eq!(step(&mut sess, c, v, 51)?, 51);
    assert_eq!(step(&mut sess, c, v, 42)?, 42);
    assert!(sess.should_stop()?);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(sess.close().unwrap_err().code(), Code::Unknown);
    Ok(())
}

// MS-047 test_recovery_from_session_getting_stuck_when_run_hooks
#[test]
fn ms047_step_fn_recovery_from_session_getting_stuck() -> Result<()> {
    let (mut sess, calls, c, v) = stack(Error::aborted("Aborted"), true)?;
    assert_eq!(step(&mut sess, c, v, 51)?, 51);
    assert_eq!(step(&mut sess, c, v, 42)?, 42);
    assert!(!sess.should_stop()?);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    Ok(())
}

// Recovery never loops on a non-preemption error of the creator, and preemptions in creation are retried.
#[test]
fn creator_errors_surface_and_preemptions_retry() -> Result<()> {
    let mut g = GraphBuilder::new();
    c_v(&mut g)?;
    let graph = g.finalize();
    let mut answers: VecDeque<Result<()>> =
        [Err(Error::unavailable("ps down")), Err(Error::aborted("again")), Ok(())].into_iter().collect();
    let gr = Arc::clone(&graph);
    let creator = FnSessionCreator::new(move || -> Result<Box<dyn Session>> {
        answers.pop_front().unwrap_or(Ok(()))?;
        Ok(Box::new(DirectSession::new(Arc::clone(&gr))))
    });
    let calls = creator.calls();
    let _sess = MonitoredSession::builder(g).session_creator(creator).build()?;
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let mut g2 = GraphBuilder::new();
    c_v(&mut g2)?;
    let creator =
        FnSessionCreator::new(|| -> Result<Box<dyn Session>> { Err(Error::permission_denied("no")) });
    let err = MonitoredSession::builder(g2).session_creator(creator).build().unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    Ok(())
}
