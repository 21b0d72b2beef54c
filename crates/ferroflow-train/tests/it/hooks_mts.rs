//! Ports of `MonitoredTrainingSessionTest` (MS-011..MS-017) and the hook order and argument errors of
//! spec 1.12.

use crate::common::FakeHook;
use crate::hooks_common::{gs_graph, scalars_in};
use ferroflow_core::{Code, Tensor};
use ferroflow_train::MonitoredTrainingSession;

fn gstep_after(dir: &std::path::Path) -> i64 {
    let gg = gs_graph(1);
    let read = gg.gs.value();
    let mut sess = MonitoredTrainingSession::builder(gg.g).checkpoint_dir(dir).build().unwrap();
    let v = sess.run(read, &[]).unwrap().scalar::<i64>().unwrap();
    sess.close().unwrap();
    v
}

// MS-011 test_saving_restoring_checkpoint
#[test]
fn ms011_saving_restoring_checkpoint() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let read = gg.gs.value();
    let mut sess =
        MonitoredTrainingSession::builder(gg.g).is_chief(true).checkpoint_dir(dir.path()).build().unwrap();
    let got = sess
        .scope(|s| {
            let a = s.run(read, &[])?.scalar::<i64>()?;
            let b = s.run(gg.train, &[])?.scalar::<i64>()?;
            let c = s.run(gg.train, &[])?.scalar::<i64>()?;
            Ok((a, b, c))
        })
        .unwrap();
    assert_eq!(got, Some((0, 1, 2)));
    assert_eq!(gstep_after(dir.path()), 2);
}

// MS-012 test_save_checkpoint_steps
#[test]
fn ms012_save_checkpoint_steps() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut sess = MonitoredTrainingSession::builder(gg.g)
        .checkpoint_dir(dir.path())
        .save_checkpoint_steps(100)
        .log_step_count_steps(10)
        .build()
        .unwrap();
    for _ in 0..100 {
        sess.run(gg.train, &[]).unwrap();
    }
    // No close: the step-100 checkpoint came from the trigger, not from end().
    drop(sess);
    assert_eq!(gstep_after(dir.path()), 100);
}

// MS-013 test_save_checkpoint_secs
#[test]
fn ms013_save_checkpoint_secs() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut sess = MonitoredTrainingSession::builder(gg.g)
        .checkpoint_dir(dir.path())
        .save_checkpoint_secs(0.1)
        .log_step_count_steps(10)
        .build()
        .unwrap();
    sess.run(gg.train, &[]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    for _ in 0..10 {
        sess.run(gg.train, &[]).unwrap();
    }
    sess.close().unwrap();
    assert_eq!(gstep_after(dir.path()), 11);
}

fn summary_graph() -> crate::hooks_common::GsGraph {
    let mut gg = gs_graph(1);
    let g = &mut gg.g;
    let two = g.constant(Tensor::scalar(2i64)).unwrap();
    let doubled = g.mul(gg.train, two).unwrap();
    let f = g.cast(doubled, ferroflow_core::DType::F32).unwrap();
    g.scalar_summary("my_summary_tag", f, None).unwrap();
    gg
}

fn tags(dir: &std::path::Path) -> Vec<String> {
    ferroflow_summary::SummaryWriterCache::get(dir).unwrap().flush().unwrap();
    let mut t: Vec<String> = scalars_in(dir).into_iter().map(|s| s.1).collect();
    t.sort();
    t.dedup();
    t
}

// MS-015 test_summaries_steps
#[test]
fn ms015_summaries_steps() {
    let dir = crate::common::tempdir();
    let gg = summary_graph();
    let mut sess = MonitoredTrainingSession::builder(gg.g)
        .checkpoint_dir(dir.path())
        .save_summaries_steps(100)
        .log_step_count_steps(10)
        .build()
        .unwrap();
    for _ in 0..101 {
        sess.run(gg.train, &[]).unwrap();
    }
    sess.close().unwrap();
    assert_eq!(tags(dir.path()), ["global_step/sec", "my_summary_tag"]);
}

// MS-016 test_summaries_secs
#[test]
fn ms016_summaries_secs() {
    let dir = crate::common::tempdir();
    let gg = summary_graph();
    let mut sess = MonitoredTrainingSession::builder(gg.g)
        .checkpoint_dir(dir.path())
        .save_summaries_steps(None)
        .save_summaries_secs(0.1)
        .log_step_count_steps(10)
        .build()
        .unwrap();
    sess.run(gg.train, &[]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    for _ in 0..101 {
        sess.run(gg.train, &[]).unwrap();
    }
    sess.close().unwrap();
    assert_eq!(tags(dir.path()), ["global_step/sec", "my_summary_tag"]);
}

// MS-017 test_custom_saving
#[test]
fn ms017_custom_saving() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let fake = FakeHook::new();
    let mut sess = MonitoredTrainingSession::builder(gg.g)
        .checkpoint_dir(dir.path())
        .chief_only_hook(fake.clone())
        .save_checkpoint_secs(0.0)
        .build()
        .unwrap();
    sess.run(gg.train, &[]).unwrap();
    sess.run(gg.train, &[]).unwrap();
    sess.close().unwrap();
    assert_eq!(fake.state().begin, 1);
    assert_eq!(gstep_after(dir.path()), 0);
}

/// Spec 1.12: hook order on the chief and on workers.
#[test]
fn hook_order_on_chief_and_worker() {
    let dir = crate::common::tempdir();
    let names = MonitoredTrainingSession::builder(gs_graph(1).g)
        .checkpoint_dir(dir.path())
        .hook(FakeHook::new())
        .chief_only_hook(crate::common::RaiseOnceAtCountN::new(100, ferroflow_core::Error::aborted("x")))
        .hook_names()
        .unwrap();
    assert_eq!(
        names,
        ["RaiseOnceAtCountN", "StepCounterHook", "SummarySaverHook", "CheckpointSaverHook", "FakeHook"]
    );
    let names = MonitoredTrainingSession::builder(gs_graph(1).g)
        .checkpoint_dir(dir.path())
        .is_chief(false)
        .hook(FakeHook::new())
        .chief_only_hook(FakeHook::new())
        .hook_names()
        .unwrap();
    assert_eq!(names, ["FakeHook"]);
    // Without a directory, no default hooks; summary_dir alone gives the summary hooks only.
    let names = MonitoredTrainingSession::builder(gs_graph(1).g).hook_names().unwrap();
    assert!(names.is_empty());
    let names =
        MonitoredTrainingSession::builder(gs_graph(1).g).summary_dir(dir.path()).hook_names().unwrap();
    assert_eq!(names, ["StepCounterHook", "SummarySaverHook"]);
    let names = MonitoredTrainingSession::builder(gs_graph(1).g)
        .checkpoint_dir(dir.path())
        .log_step_count_steps(0)
        .save_summaries_steps(0)
        .save_checkpoint_secs(None)
        .hook_names()
        .unwrap();
    assert!(names.is_empty(), "{names:?}");
    // Beyond TF: the preemption hook after the checkpoint saver, the progress display last.
    let names = MonitoredTrainingSession::builder(gs_graph(1).g)
        .checkpoint_dir(dir.path())
        .hook(FakeHook::new())
        .preemption(true)
        .progress(Some(10))
        .hook_names()
        .unwrap();
    assert_eq!(
        names,
        [
            "StepCounterHook",
            "SummarySaverHook",
            "CheckpointSaverHook",
            "PreemptionHook",
            "FakeHook",
            "ProgressHook"
        ]
    );
}

/// Spec 1.12: both a positive secs and a positive steps period -> InvalidArgument naming the arguments.
#[test]
fn conflicting_periods_are_invalid_argument() {
    let e = MonitoredTrainingSession::builder(gs_graph(1).g)
        .checkpoint_dir("/tmp/unused")
        .save_checkpoint_secs(10.0)
        .save_checkpoint_steps(20)
        .build()
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("save_checkpoint_secs") && e.message().contains("save_checkpoint_steps"));
    let e = MonitoredTrainingSession::builder(gs_graph(1).g)
        .save_summaries_secs(10.0)
        .save_summaries_steps(20)
        .build()
        .unwrap_err();
    assert!(e.message().contains("save_summaries_secs"), "{e}");
    // Only steps given: secs resolves to off, so no conflict (TF's USE_DEFAULT).
    let dir = crate::common::tempdir();
    let names = MonitoredTrainingSession::builder(gs_graph(1).g)
        .checkpoint_dir(dir.path())
        .save_checkpoint_steps(5)
        .hook_names()
        .unwrap();
    assert!(names.contains(&"CheckpointSaverHook".to_string()));
    assert!(MonitoredTrainingSession::builder(gs_graph(1).g).max_wait_secs(-1.0).is_err());
}
