//! Ports of `SummarySaverHookTest` and `ResourceSummarySaverHookTest` (BH-048..BH-055, BH-062), plus
//! the SessionLog START behaviour and the non-triggering cost.

use crate::hooks_common::{gs_graph, scalars_in, session_logs_in, Driven};
use ferroflow_core::Tensor;
use ferroflow_graph::{Output, VariableOptions};
use ferroflow_summary::FileWriter;
use ferroflow_train::hooks::{SummaryOp, SummarySaverHook};
use ferroflow_train::{Clock, Every, ManualClock, Scaffold};
use std::collections::BTreeMap;
use std::sync::Arc;

/// TF's fixture: `my_summary` = a variable incremented each time the summary is evaluated,
/// `my_summary2` = twice it.
fn fixture() -> (crate::hooks_common::GsGraph, Output, Output) {
    let mut gg = gs_graph(1);
    let g = &mut gg.g;
    let zero = g.constant(Tensor::scalar(0.0f32)).unwrap();
    let var = g.variable("summary_counter", zero, VariableOptions::non_trainable()).unwrap();
    let one = g.constant(Tensor::scalar(1.0f32)).unwrap();
    let inc = g.assign_add(&var, one).unwrap();
    let s1 = g.scalar_summary("my_summary", inc, None).unwrap();
    let two = g.constant(Tensor::scalar(2.0f32)).unwrap();
    let dbl = g.mul(inc, two).unwrap();
    let s2 = g.scalar_summary("my_summary2", dbl, None).unwrap();
    (gg, s1, s2)
}

fn by_step(dir: &std::path::Path, w: &FileWriter) -> BTreeMap<i64, Vec<f32>> {
    w.flush().unwrap();
    let mut m: BTreeMap<i64, Vec<f32>> = BTreeMap::new();
    for (step, _, v) in scalars_in(dir) {
        m.entry(step).or_default().push(v);
    }
    m
}

// BH-048/BH-049 (scaffold and summary_op both missing/present): one `SummaryOp` enum, so neither can
// be written; an empty op list is the error left. BH-050/BH-051: `Every` makes both/neither
// unwritable; a non-positive period fails naming the argument.
#[test]
fn bh048_bh051_bad_arguments() {
    let e = SummarySaverHook::new(Every::Steps(1), "/tmp/x", SummaryOp::Ops(vec![])).unwrap_err();
    assert!(e.message().contains("summary_op"));
    let e =
        SummarySaverHook::new(Every::Steps(0), "/tmp/x", SummaryOp::Scaffold(Scaffold::new())).unwrap_err();
    assert!(e.message().contains("save_steps"));
    let e =
        SummarySaverHook::new(Every::Secs(0.0), "/tmp/x", SummaryOp::Scaffold(Scaffold::new())).unwrap_err();
    assert!(e.message().contains("save_secs"));
}

// BH-052 test_save_steps, BH-062 (resource variables: the same here)
#[test]
fn bh052_bh062_save_steps() {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let (gg, s1, _) = fixture();
    let mut d = Driven::new(gg.g, SummarySaverHook::new(Every::Steps(8), Arc::clone(&w), s1).unwrap());
    for _ in 0..30 {
        d.run(gg.train);
    }
    d.end().unwrap();
    let m = by_step(dir.path(), &w);
    assert_eq!(m, BTreeMap::from([(1, vec![1.0]), (9, vec![2.0]), (17, vec![3.0]), (25, vec![4.0])]));
}

// BH-053 test_multiple_summaries
#[test]
fn bh053_multiple_summaries() {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let (gg, s1, s2) = fixture();
    let mut d =
        Driven::new(gg.g, SummarySaverHook::new(Every::Steps(8), Arc::clone(&w), vec![s1, s2]).unwrap());
    for _ in 0..10 {
        d.run(gg.train);
    }
    let m = by_step(dir.path(), &w);
    assert_eq!(m, BTreeMap::from([(1, vec![1.0, 2.0]), (9, vec![2.0, 4.0])]));
}

fn save_secs(secs: f64, runs: usize, dt: f64) -> BTreeMap<i64, Vec<f32>> {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let (gg, s1, _) = fixture();
    let clock = ManualClock::new(0.0);
    let hook = SummarySaverHook::new(Every::Secs(secs), Arc::clone(&w), s1)
        .unwrap()
        .clock(Clock::from(clock.clone()));
    let mut d = Driven::new(gg.g, hook);
    for _ in 0..runs {
        d.run(gg.train);
        clock.advance(dt);
    }
    by_step(dir.path(), &w)
}

// BH-054 test_save_secs_saving_once_every_step
#[test]
fn bh054_save_secs_every_step() {
    assert_eq!(
        save_secs(0.5, 4, 0.5),
        BTreeMap::from([(1, vec![1.0]), (2, vec![2.0]), (3, vec![3.0]), (4, vec![4.0])])
    );
}

// BH-055 test_save_secs_saving_once_every_three_steps
#[test]
fn bh055_save_secs_every_three_steps() {
    assert_eq!(save_secs(9.0, 8, 3.1), BTreeMap::from([(1, vec![1.0]), (4, vec![2.0]), (7, vec![3.0])]));
}

/// Issue 6: a restarted run writes SessionLog START at its first step, so TensorBoard hides the redone
/// points; the scaffold's summary op (all summaries merged) is used by default.
#[test]
fn start_session_log_at_first_step_of_each_session() {
    let dir = crate::common::tempdir();
    for _ in 0..2 {
        let (gg, _, _) = fixture();
        let train = gg.train;
        let mut sess = ferroflow_train::MonitoredTrainingSession::builder(gg.g)
            .checkpoint_dir(dir.path())
            .save_summaries_steps(2)
            .log_step_count_steps(0)
            .build()
            .unwrap();
        for _ in 0..3 {
            sess.run(train, &[]).unwrap();
        }
        sess.close().unwrap();
    }
    ferroflow_summary::SummaryWriterCache::get(dir.path()).unwrap().flush().unwrap();
    let starts: Vec<i64> =
        session_logs_in(dir.path()).into_iter().filter(|l| l.1 == 1).map(|l| l.0).collect();
    // First run: START at 1; after restoring step 3, START at 4.
    assert_eq!(starts, [1, 4]);
    let tags: Vec<String> = scalars_in(dir.path()).into_iter().map(|s| s.1).collect();
    assert!(
        tags.contains(&"my_summary".to_string()) && tags.contains(&"my_summary2".to_string()),
        "{tags:?}"
    );
}

/// On runs where it does not trigger, the hook fetches only the global-step read: no summary op runs
/// (the counter behind `my_summary` does not move).
#[test]
fn non_triggering_runs_do_not_evaluate_the_summary() {
    let dir = crate::common::tempdir();
    let w = Arc::new(FileWriter::new(dir.path()).unwrap());
    let (gg, s1, _) = fixture();
    let mut d = Driven::new(gg.g, SummarySaverHook::new(Every::Steps(100), Arc::clone(&w), s1).unwrap());
    for _ in 0..50 {
        d.run(gg.train);
    }
    // Evaluated once (at step 1) in 50 runs.
    assert_eq!(by_step(dir.path(), &w), BTreeMap::from([(1, vec![1.0])]));
}
