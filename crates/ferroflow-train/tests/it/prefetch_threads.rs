//! Prefetch threads under the session's `Coordinator` (issue 8): like TF1's queue runners, a
//! `MonitoredSession` registers the producer threads of prefetching pipelines with its coordinator, so
//! that a stop request stops them, their errors reach the coordinator and `run()`, and closing joins them.

use ferroflow_core::{Code, DType, Error, PartialShape, Result};
use ferroflow_data::{
    make_initializable_iterator, make_one_shot_iterator, range, DatasetExt, DatasetRef, ElementSpec,
};
use ferroflow_graph::{GraphBuilder, Operation, Output};
use ferroflow_session::{DirectSession, Session, SessionExt};
use ferroflow_train::{start_queue_runners, ChiefSessionCreator, Coordinator, MonitoredSession, Scaffold};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts the threads a map closure ran on, and how many of them have exited (a thread-local value
/// dropped when its thread ends).
#[derive(Clone, Default)]
struct ThreadWatch {
    started: Arc<AtomicUsize>,
    exited: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

struct OnExit(Arc<AtomicUsize>);

impl Drop for OnExit {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: RefCell<Option<OnExit>> = const { RefCell::new(None) };
}

impl ThreadWatch {
    fn enter(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        ON_EXIT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_none() {
                self.started.fetch_add(1, Ordering::SeqCst);
                *slot = Some(OnExit(Arc::clone(&self.exited)));
            }
        });
    }

    fn all_exited(&self) -> bool {
        let started = self.started.load(Ordering::SeqCst);
        started > 0 && self.exited.load(Ordering::SeqCst) == started
    }

    /// Waits up to 10 s for every watched thread to end.
    fn wait_all_exited(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.all_exited() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

/// `range(0, n)` mapped through `watch` (failing at `fail_at`), prefetched.
fn watched(n: i64, watch: &ThreadWatch, fail_at: Option<i64>, buffer: usize) -> Result<DatasetRef> {
    let w = watch.clone();
    let spec = ElementSpec::new(vec![DType::I64], vec![PartialShape::scalar()])?;
    range(0, n, 1)?
        .map(spec, move |e| {
            // Work happens on the producer thread: that is the one watched.
            w.enter();
            let v = e[0].scalar_value::<i64>()?;
            if Some(v) == fail_at {
                return Err(Error::invalid_argument(format!("bad record {v}")));
            }
            Ok(e)
        })?
        .prefetch(buffer)
}

fn one_shot(ds: &DatasetRef) -> Result<(GraphBuilder, Output)> {
    let mut g = GraphBuilder::new();
    let next = make_one_shot_iterator(&mut g, ds)?.get_next(&mut g)?[0];
    Ok((g, next))
}

/// An initializable iterator over `ds`: the graph, `get_next`'s output and the initializer.
fn initializable(ds: &DatasetRef) -> Result<(GraphBuilder, Output, Operation)> {
    let mut g = GraphBuilder::new();
    let it = make_initializable_iterator(&mut g, ds)?;
    let next = it.get_next(&mut g)?[0];
    let init = it.initializer().expect("initializable");
    Ok((g, next, init))
}

fn monitored(g: GraphBuilder) -> Result<MonitoredSession> {
    MonitoredSession::builder(g).stop_grace_period(Duration::from_secs(10)).build()
}

#[test]
fn a_prefetching_pipeline_ends_cleanly_at_out_of_range_and_its_thread_is_joined() -> Result<()> {
    let watch = ThreadWatch::default();
    let (g, next) = one_shot(&watched(10, &watch, None, 2)?)?;
    let mut sess = monitored(g)?;
    let mut seen = Vec::new();
    let ended = sess.scope(|s| -> Result<()> {
        loop {
            seen.push(s.run(next, &[])?.scalar::<i64>()?);
        }
    })?;
    assert!(ended.is_none(), "only OutOfRange ends the loop");
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    assert!(sess.is_closed());
    // Joined by close: no waiting needed.
    assert!(watch.all_exited(), "the prefetch thread is still running after close");
    assert_eq!(watch.started.load(Ordering::SeqCst), 1);
    Ok(())
}

#[test]
fn a_map_error_in_a_prefetched_pipeline_surfaces_from_run_and_reaches_the_coordinator() -> Result<()> {
    let watch = ThreadWatch::default();
    let (g, next) = one_shot(&watched(100, &watch, Some(4), 2)?)?;
    let mut sess = monitored(g)?;
    let coord = sess.coordinator().expect("open");
    let mut seen = Vec::new();
    let err = loop {
        match sess.run(next, &[]) {
            Ok(v) => seen.push(v.scalar::<i64>()?),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, vec![0, 1, 2, 3], "elements before the failure arrive in order");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("bad record 4"), "{err}");
    let reported = coord.raise_requested_exception().unwrap_err();
    assert!(reported.message().contains("bad record 4"), "{reported}");
    assert!(coord.should_stop());
    // As TF's `_RecoverableSession._check_stop`: an error in the coordinator means stop, not a raise.
    assert!(sess.should_stop()?);
    let closed = sess.close().unwrap_err();
    assert!(closed.message().contains("bad record 4"), "{closed}");
    assert!(watch.all_exited(), "the failed prefetch thread is joined by close");
    Ok(())
}

#[test]
fn a_map_error_ends_a_scope_with_its_message() -> Result<()> {
    let watch = ThreadWatch::default();
    let (g, next) = one_shot(&watched(100, &watch, Some(7), 4)?)?;
    let mut sess = monitored(g)?;
    let err = sess
        .scope(|s| -> Result<()> {
            loop {
                s.run(next, &[])?;
            }
        })
        .unwrap_err();
    assert!(err.message().contains("bad record 7"), "{err}");
    assert!(sess.is_closed());
    assert!(watch.all_exited());
    Ok(())
}

#[test]
fn errors_dropped_by_ignore_errors_do_not_stop_the_coordinator() -> Result<()> {
    let watch = ThreadWatch::default();
    let (g, next) = one_shot(&watched(6, &watch, Some(2), 2)?.ignore_errors())?;
    let mut sess = monitored(g)?;
    let mut seen = Vec::new();
    sess.scope(|s| -> Result<()> {
        loop {
            seen.push(s.run(next, &[])?.scalar::<i64>()?);
        }
    })?;
    assert_eq!(seen, vec![0, 1, 3, 4, 5]);
    assert!(watch.all_exited());
    Ok(())
}

#[test]
fn request_stop_stops_the_prefetcher() -> Result<()> {
    let watch = ThreadWatch::default();
    // Endless input: only a stop request ends the producer.
    let (g, next) = one_shot(&watched(i64::MAX, &watch, None, 3)?)?;
    let mut sess = monitored(g)?;
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 0);
    assert!(!watch.all_exited());
    let coord = sess.coordinator().expect("open");
    coord.request_stop(None)?;
    assert!(watch.wait_all_exited(), "request_stop did not stop the prefetch thread");
    let calls = watch.calls.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(watch.calls.load(Ordering::SeqCst), calls, "nothing is produced after the stop");
    assert!(sess.should_stop()?);
    // What was buffered is still delivered, then the end of input.
    let mut rest = 0;
    let end = loop {
        match sess.run(next, &[]) {
            Ok(_) => rest += 1,
            Err(e) => break e,
        }
    };
    assert!(rest <= 3, "at most the buffer: {rest}");
    assert_eq!(end.code(), Code::OutOfRange);
    sess.close()?;
    Ok(())
}

#[test]
fn threads_started_before_the_coordinator_are_handed_over_and_later_ones_registered() -> Result<()> {
    let watch = ThreadWatch::default();
    let ds = watched(i64::MAX, &watch, None, 2)?;
    let (mut g, next, init) = initializable(&ds)?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(init, &[])?;
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 0);
    let coord = Arc::new(Coordinator::new());
    let session: &dyn Session = &sess;
    assert_eq!(start_queue_runners(session, &coord), 1, "the running producer is handed over");
    // Re-initializing starts a new producer, registered at once; the old one was stopped.
    sess.run(init, &[])?;
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 0);
    coord.request_stop(None)?;
    coord.join(Duration::from_secs(10), false)?;
    assert!(watch.all_exited(), "join left a producer running");
    assert_eq!(watch.started.load(Ordering::SeqCst), 2);
    Ok(())
}

#[test]
fn a_local_init_op_starting_the_iterator_is_supervised_too() -> Result<()> {
    let watch = ThreadWatch::default();
    let ds = watched(i64::MAX, &watch, None, 2)?;
    let (g, next, init) = initializable(&ds)?;
    let scaffold = Scaffold::new().with_local_init_op(init);
    let mut sess = MonitoredSession::builder(g)
        .session_creator(ChiefSessionCreator::new(scaffold))
        .stop_grace_period(Duration::from_secs(10))
        .build()?;
    assert_eq!(sess.run(next, &[])?.scalar::<i64>()?, 0);
    sess.coordinator().expect("open").request_stop(None)?;
    assert!(watch.wait_all_exited(), "the producer started by the local init op was not stopped");
    sess.close()?;
    Ok(())
}
