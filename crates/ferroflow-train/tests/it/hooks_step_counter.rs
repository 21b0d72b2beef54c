//! Ports of `StepCounterHookTest` (BH-041..BH-047).

use crate::hooks_common::{gs_graph, scalars_in, Driven};
use ferroflow_core::Tensor;
use ferroflow_graph::GraphBuilder;
use ferroflow_summary::FileWriter;
use ferroflow_train::hooks::StepCounterHook;
use ferroflow_train::{Clock, Every, ManualClock};
use std::sync::Arc;

/// `(steps, tags)` written, with values checked positive.
fn summaries(dir: &std::path::Path, w: &FileWriter) -> Vec<(i64, String)> {
    w.flush().unwrap();
    let s = scalars_in(dir);
    assert!(s.iter().all(|(_, _, v)| *v > 0.0), "{s:?}");
    s.into_iter().map(|(step, tag, _)| (step, tag)).collect()
}

fn steps_of(v: &[(i64, String)]) -> Vec<i64> {
    v.iter().map(|(s, _)| *s).collect()
}

// BH-041 test_step_counter_every_n_steps
#[test]
fn bh041_every_n_steps() {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let gg = gs_graph(1);
    let clock = ManualClock::new(0.0);
    let hook = StepCounterHook::new(Every::Steps(10))
        .unwrap()
        .output(Arc::clone(&w))
        .clock(Clock::from(clock.clone()));
    let mut d = Driven::new(gg.g, hook);
    for _ in 0..30 {
        clock.advance(0.01);
        d.run(gg.train);
    }
    assert_eq!(d.hook.lock().stall_warnings(), 0);
    let s = summaries(dir.path(), &w);
    assert_eq!(steps_of(&s), [11, 21]);
    assert!(s.iter().all(|(_, t)| t == "global_step/sec"));
}

// BH-042 test_step_counter_every_n_secs
#[test]
fn bh042_every_n_secs() {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let gg = gs_graph(1);
    let clock = ManualClock::new(0.0);
    let hook = StepCounterHook::new(Every::Secs(0.1))
        .unwrap()
        .output(Arc::clone(&w))
        .clock(Clock::from(clock.clone()));
    let mut d = Driven::new(gg.g, hook);
    d.run(gg.train);
    clock.advance(0.2);
    d.run(gg.train);
    clock.advance(0.2);
    d.run(gg.train);
    assert_eq!(steps_of(&summaries(dir.path(), &w)), [2, 3]);
}

// BH-043 test_global_step_name
#[test]
fn bh043_global_step_name() {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let mut g = GraphBuilder::new();
    let zero = g.constant(Tensor::scalar(0i64)).unwrap();
    let gs = g
        .with_name_scope("bar", |g| {
            g.variable("foo", zero, ferroflow_graph::VariableOptions::non_trainable())
        })
        .unwrap();
    g.add_to_collection(
        ferroflow_graph::GraphKeys::GLOBAL_STEP,
        ferroflow_graph::CollectionItem::Variable(gs.clone()),
    )
    .unwrap();
    let one = g.constant(Tensor::scalar(1i64)).unwrap();
    let train = g.assign_add(&gs, one).unwrap();
    let clock = ManualClock::new(0.0);
    let hook = StepCounterHook::new(Every::Steps(1))
        .unwrap()
        .output(Arc::clone(&w))
        .clock(Clock::from(clock.clone()));
    let mut d = Driven::new(g, hook);
    d.run(train);
    clock.advance(0.5);
    d.run(train);
    assert_eq!(summaries(dir.path(), &w), [(2, "bar/foo/sec".to_string())]);
}

// BH-044 test_log_warning_if_global_step_not_increased
#[test]
fn bh044_warns_if_global_step_not_increased() {
    let gg = gs_graph(0);
    let mut d = Driven::new(gg.g, StepCounterHook::new(Every::Steps(10)).unwrap());
    d.run(gg.train);
    assert_eq!(d.hook.lock().stall_warnings(), 0);
    for _ in 0..30 {
        d.run(gg.train);
    }
    // TF logs it through log_first_n(5).
    assert_eq!(d.hook.lock().stall_warnings(), 5);
}

fn steps_per_run(every: i64, spr: i64, runs: usize) -> Vec<i64> {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let gg = gs_graph(spr);
    let clock = ManualClock::new(0.0);
    let hook = StepCounterHook::new(Every::Steps(every))
        .unwrap()
        .steps_per_run(spr)
        .output(Arc::clone(&w))
        .clock(Clock::from(clock.clone()));
    let mut d = Driven::new(gg.g, hook);
    for _ in 0..runs {
        clock.advance(0.01);
        d.run(gg.train);
    }
    steps_of(&summaries(dir.path(), &w))
}

// BH-045 test_steps_per_run_less_than_every_n_steps
#[test]
fn bh045_steps_per_run_less_than_every_n_steps() {
    assert_eq!(steps_per_run(10, 5, 5), [15, 25]);
}

// BH-046 test_steps_per_run_equal_every_n_steps
#[test]
fn bh046_steps_per_run_equal_every_n_steps() {
    assert_eq!(steps_per_run(5, 5, 5), [10, 15, 20, 25]);
}

// BH-047 test_steps_per_run_greater_than_every_n_steps
#[test]
fn bh047_steps_per_run_greater_than_every_n_steps() {
    assert_eq!(steps_per_run(5, 10, 5), [20, 30, 40, 50]);
}
