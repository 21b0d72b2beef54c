//! Ports of `StopAtStepTest` (BH-006..BH-009).

use crate::hooks_common::{gs_graph, set_gs, Driven};
use ferroflow_core::Tensor;
use ferroflow_train::hooks::{StopAt, StopAtStepHook};

/// A session on the global-step graph with the hook; runs a constant (TF's `no_op`) so the step moves
/// only when the test sets it.
fn driven(
    at: StopAt,
    start: i64,
) -> (Driven<StopAtStepHook>, ferroflow_graph::Output, ferroflow_graph::Output, ferroflow_graph::Output) {
    let mut gg = gs_graph(1);
    let noop = gg.g.constant(Tensor::scalar(0i32)).unwrap();
    let mut d = Driven::new(gg.g, StopAtStepHook::new(at).unwrap());
    set_gs(d.raw(), gg.set, gg.p, start);
    d.after_create_session();
    (d, noop, gg.set, gg.p)
}

// BH-006 test_raise_in_both_last_step_and_num_steps: one enum, so "both" cannot be written; a negative
// count is the construction error left.
#[test]
fn bh006_bad_arguments() {
    let e = StopAtStepHook::new(StopAt::NumSteps(-1)).unwrap_err();
    assert!(e.message().contains("num_steps"));
}

// BH-007 test_stop_based_on_last_step
#[test]
fn bh007_stop_based_on_last_step() {
    let (mut d, noop, set, p) = driven(StopAt::LastStep(10), 5);
    d.run(noop);
    assert!(!d.sess.should_stop().unwrap());
    set_gs(d.raw(), set, p, 9);
    d.run(noop);
    assert!(!d.sess.should_stop().unwrap());
    set_gs(d.raw(), set, p, 10);
    d.run(noop);
    assert!(d.sess.should_stop().unwrap());
    // "gstep=11, reset stop flag, run -> T": a fresh session stands in for the reset flag.
    let (mut d, noop, _, _) = driven(StopAt::LastStep(10), 11);
    d.run(noop);
    assert!(d.sess.should_stop().unwrap());
}

// BH-008 test_stop_based_on_num_step
#[test]
fn bh008_stop_based_on_num_step() {
    let (mut d, noop, set, p) = driven(StopAt::NumSteps(10), 5);
    assert_eq!(d.hook.lock().last_step(), Some(15));
    d.run(noop);
    assert!(!d.sess.should_stop().unwrap());
    for s in [13, 14] {
        set_gs(d.raw(), set, p, s);
        d.run(noop);
        assert!(!d.sess.should_stop().unwrap());
    }
    set_gs(d.raw(), set, p, 15);
    d.run(noop);
    assert!(d.sess.should_stop().unwrap());
}

// BH-009 test_stop_based_with_multiple_steps
#[test]
fn bh009_stop_based_with_multiple_steps() {
    let (mut d, noop, set, p) = driven(StopAt::NumSteps(10), 5);
    d.run(noop);
    assert!(!d.sess.should_stop().unwrap());
    set_gs(d.raw(), set, p, 15);
    d.run(noop);
    assert!(d.sess.should_stop().unwrap());
}

/// Through a real train op: `last_step=3` from 0 stops in the run producing 3 (the spec's example).
#[test]
fn stops_in_the_run_reaching_last_step() {
    let gg = gs_graph(1);
    let train = gg.train;
    let mut sess = ferroflow_train::MonitoredSession::builder(gg.g)
        .hook(StopAtStepHook::new(StopAt::LastStep(3)).unwrap())
        .build()
        .unwrap();
    let mut runs = 0;
    while !sess.should_stop().unwrap() {
        sess.run(train, &[]).unwrap();
        runs += 1;
    }
    assert_eq!(runs, 3);
}

/// Without a global step, `begin` fails naming the hook (TF's RuntimeError).
#[test]
fn needs_a_global_step() {
    let g = ferroflow_graph::GraphBuilder::new();
    let e = ferroflow_train::MonitoredSession::builder(g)
        .hook(StopAtStepHook::new(StopAt::LastStep(3)).unwrap())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("Global step should be created to use StopAtStepHook."), "{e}");
}
