//! Ports of `LoggingTensorHookTest` (BH-010..BH-017); TF mocks `logging.info`, these tests use the
//! hook's sink.

use crate::hooks_common::Driven;
use ferroflow_core::{Code, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_train::hooks::LoggingTensorHook;
use ferroflow_train::{Clock, Every, ManualClock};
use parking_lot::Mutex;
use std::sync::Arc;

/// `t = constant 42.0 named 'foo'` and a no-op to run.
fn graph() -> (GraphBuilder, Output) {
    let mut g = GraphBuilder::new();
    let t = g.constant(Tensor::scalar(42.0f32)).unwrap();
    let _foo = g.identity_named(t, "foo").unwrap();
    let noop = g.constant(Tensor::scalar(0i32)).unwrap();
    (g, noop)
}

type Log = Arc<Mutex<Vec<String>>>;

fn hook(every: Option<Every>, at_end: bool, log: &Log) -> LoggingTensorHook {
    let log = Arc::clone(log);
    LoggingTensorHook::new(every, at_end)
        .unwrap()
        .tensor_name("foo", "foo")
        .sink(move |m| log.lock().push(m.to_string()))
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock())
}

// BH-010 test_illegal_args
#[test]
fn bh010_illegal_args() {
    for n in [0, -10] {
        let e = LoggingTensorHook::new(Some(Every::Steps(n)), false).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("nvalid every_n_iter"));
    }
    let e = LoggingTensorHook::new(None, false).unwrap_err();
    assert!(e.message().contains("xactly one of"));
    // A tensor name that is not in the graph fails at begin, naming the argument.
    let (g, _) = graph();
    let e = ferroflow_train::SingularMonitoredSession::builder(g)
        .hook(LoggingTensorHook::new(Some(Every::Steps(1)), false).unwrap().tensor_name("x", "nope:0"))
        .build()
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("tensors"), "{e}");
}

// BH-011 test_print_at_end_only
#[test]
fn bh011_print_at_end_only() {
    let log = Log::default();
    let (g, noop) = graph();
    let mut d = Driven::new(g, hook(None, true, &log));
    for _ in 0..3 {
        d.run(noop);
    }
    assert!(take(&log).is_empty());
    d.end().unwrap();
    assert_eq!(take(&log), ["foo = 42.0"]);
}

fn every_n_steps(at_end: bool) {
    let log = Log::default();
    let (g, noop) = graph();
    let mut d = Driven::new(g, hook(Some(Every::Steps(10)), at_end, &log));
    // Done twice in TF with a new hook; `begin` resets the count, which a new session checks.
    d.run(noop);
    assert!(take(&log)[0].contains("foo = 42.0"));
    for _ in 0..3 {
        for _ in 0..9 {
            d.run(noop);
        }
        assert!(take(&log).is_empty());
        d.run(noop);
        assert_eq!(take(&log).len(), 1);
    }
    d.run(noop);
    assert!(take(&log).is_empty());
    d.end().unwrap();
    assert_eq!(take(&log).len(), usize::from(at_end));
}

// BH-012 test_print_every_n_steps
#[test]
fn bh012_print_every_n_steps() {
    every_n_steps(false);
    every_n_steps(false);
}

// BH-013 test_print_every_n_steps_and_end
#[test]
fn bh013_print_every_n_steps_and_end() {
    every_n_steps(true);
}

// BH-014 test_print_first_step
#[test]
fn bh014_print_first_step() {
    let log = Log::default();
    let (g, noop) = graph();
    let mut d = Driven::new(g, hook(Some(Every::Steps(1)), false, &log));
    d.run(noop);
    let first = take(&log).remove(0);
    assert!(first.contains("foo") && !first.contains("sec"), "{first}");
    d.run(noop);
    assert!(take(&log)[0].contains("sec"));
}

fn every_n_secs(at_end: bool) {
    let log = Log::default();
    let (g, noop) = graph();
    let clock = ManualClock::new(0.0);
    let mut d = Driven::new(g, hook(Some(Every::Secs(1.0)), at_end, &log).clock(Clock::from(clock.clone())));
    d.run(noop);
    assert_eq!(take(&log).len(), 1);
    d.run(noop);
    assert!(take(&log).is_empty());
    clock.advance(1.0);
    d.run(noop);
    assert_eq!(take(&log).len(), 1);
    d.end().unwrap();
    assert_eq!(take(&log).len(), usize::from(at_end));
}

// BH-015 test_print_every_n_secs
#[test]
fn bh015_print_every_n_secs() {
    every_n_secs(false);
    every_n_secs(false);
}

// BH-016 test_print_every_n_secs_and_end
#[test]
fn bh016_print_every_n_secs_and_end() {
    every_n_secs(true);
}

// BH-017 test_print_formatter
#[test]
fn bh017_print_formatter() {
    let log = Log::default();
    let (g, noop) = graph();
    let h = hook(Some(Every::Steps(10)), false, &log).formatter(|items| {
        format!("qqq={:?}", ferroflow_core::Tensor::scalar_value::<f32>(&items[0].1).unwrap_or(0.0))
    });
    let mut d = Driven::new(g, h);
    d.run(noop);
    assert_eq!(take(&log), ["qqq=42.0"]);
}
