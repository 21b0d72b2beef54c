//! MS-025..MS-038 (`WrappedSessionTest`, `CoordinatedSessionTest`), through the public sessions.

use crate::common::*;
use ferroflow_core::{Code, Error, Result, Tensor};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::{DirectSession, SessionExt};
use ferroflow_train::{MonitoredSession, SingularMonitoredSession};
use std::sync::Arc;
use std::time::Duration;

// MS-025 / MS-031 / MS-039 test_properties: the graph is the raw session's.
#[test]
fn ms025_ms031_ms039_properties_delegate() -> Result<()> {
    let mut g = GraphBuilder::new();
    c_v(&mut g)?;
    let id = g.id();
    let mut sess = MonitoredSession::builder(g).build()?;
    assert_eq!(sess.graph().map(|g| g.id()), Some(id));
    sess.close()?;
    assert!(sess.graph().is_none(), "None after close");
    Ok(())
}

// MS-026 / MS-033 test_should_stop_on_close, MS-029 test_close_twice (the wrapper part).
#[test]
fn ms026_ms033_should_stop_on_close() -> Result<()> {
    let mut g = GraphBuilder::new();
    c_v(&mut g)?;
    let mut sess = SingularMonitoredSession::builder(g).build()?;
    assert!(!sess.should_stop()?);
    sess.close()?;
    assert!(sess.should_stop()?);
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-030 / MS-032 / MS-040 test_run: feeding c.
#[test]
fn ms030_ms032_ms040_run() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = c_v(&mut g)?;
    // A default scaffold first adds its ops, so the monitored session adds none to the frozen graph.
    let mut raw = DirectSession::new(ferroflow_train::Scaffold::new().finalize(&mut g)?);
    assert_eq!(i32_of(&raw.run(v, &[(c, Tensor::scalar(42i32))])?), 42);
    let mut sess = MonitoredSession::builder(g).build()?;
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(51i32))])?), 51);
    Ok(())
}

// MS-034 test_should_stop_on_coord_stop
#[test]
fn ms034_should_stop_on_coord_stop() -> Result<()> {
    let mut g = GraphBuilder::new();
    c_v(&mut g)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    assert!(!sess.should_stop()?);
    sess.coordinator().unwrap().request_stop(None)?;
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-035 test_dont_request_stop_on_exception_in_main_thread
#[test]
fn ms035_dont_request_stop_on_exception_in_main_thread() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = c_v(&mut g)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    assert_eq!(i32_of(&sess.run(c, &[])?), 0);
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(1i32))])?), 1);
    // TF passes `[None]` (TypeError); a feed of the wrong dtype is our invalid run.
    let err = sess.run(v, &[(c, Tensor::scalar(2.0f32))]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(!sess.coordinator().unwrap().should_stop());
    assert!(!sess.should_stop()?);
    Ok(())
}

fn start_busy_threads(sess: &MonitoredSession) -> Vec<Arc<std::sync::atomic::AtomicBool>> {
    let coord = sess.coordinator().unwrap();
    (0..3)
        .map(|_| {
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (c, d) = (Arc::clone(&coord), Arc::clone(&done));
            coord.register_thread(std::thread::spawn(move || {
                while !c.should_stop() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                d.store(true, std::sync::atomic::Ordering::SeqCst);
            }));
            done
        })
        .collect()
}

// MS-036 test_stop_threads_on_close_after_exception
#[test]
fn ms036_stop_threads_on_close_after_exception() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = c_v(&mut g)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    let threads = start_busy_threads(&sess);
    let coord = sess.coordinator().unwrap();
    assert_eq!(i32_of(&sess.run(c, &[])?), 0);
    assert_eq!(i32_of(&sess.run(v, &[(c, Tensor::scalar(1i32))])?), 1);
    assert!(sess.run(v, &[(c, Tensor::scalar(2.0f32))]).is_err());
    assert!(threads.iter().all(|t| !t.load(std::sync::atomic::Ordering::SeqCst)));
    sess.close()?;
    assert!(threads.iter().all(|t| t.load(std::sync::atomic::Ordering::SeqCst)), "joined on close");
    assert!(coord.should_stop());
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-037 test_stop_threads_on_close
#[test]
fn ms037_stop_threads_on_close() -> Result<()> {
    let mut g = GraphBuilder::new();
    c_v(&mut g)?;
    let mut sess = MonitoredSession::builder(g).build()?;
    let threads = start_busy_threads(&sess);
    let coord = sess.coordinator().unwrap();
    sess.close()?;
    assert!(threads.iter().all(|t| t.load(std::sync::atomic::Ordering::SeqCst)));
    assert!(coord.should_stop());
    assert!(sess.should_stop()?);
    Ok(())
}

// MS-038 test_propagates_exception_trace: the raw session's error comes back unchanged.
#[test]
fn ms038_propagates_original_error() -> Result<()> {
    let mut g = GraphBuilder::new();
    let (c, v) = c_v(&mut g)?;
    // A default scaffold first adds its ops, so the monitored session adds none to the frozen graph.
    let mut raw = DirectSession::new(ferroflow_train::Scaffold::new().finalize(&mut g)?);
    let raw_err = raw.run(v, &[(c, Tensor::scalar(2.0f32))]).unwrap_err();
    let mut sess = SingularMonitoredSession::builder(g).build()?;
    let err = sess.run(v, &[(c, Tensor::scalar(2.0f32))]).unwrap_err();
    assert_eq!(err, raw_err);
    let _ = Error::unknown("");
    Ok(())
}
