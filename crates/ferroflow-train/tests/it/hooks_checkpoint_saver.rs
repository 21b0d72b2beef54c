//! Ports of `CheckpointSaverHookTest`, `CheckpointSaverHookMultiStepTest` and
//! `ResourceCheckpointSaverHookTest` (BH-018..BH-040) with TF's numbers.

use crate::hooks_common::{ckpt_step, gs_graph, session_logs_in, Driven};
use ferroflow_core::{Code, Result};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::Session;
use ferroflow_train::hooks::{CheckpointSaverHook, CheckpointSaverListener, ListenerAction};
use ferroflow_train::{Clock, Every, ManualClock, Saver, SaverOptions, Scaffold, SingularMonitoredSession};
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    begin: usize,
    before_save: usize,
    after_save: usize,
    end: usize,
}

/// TF tests' `MockCheckpointSaverListener`: counts calls; `ask_for_stop` makes `after_save` ask to stop.
#[derive(Clone, Default)]
struct Listener {
    counts: Arc<Mutex<Counts>>,
    ask_for_stop: Arc<Mutex<bool>>,
}

impl CheckpointSaverListener for Listener {
    fn begin(&mut self) -> Result<()> {
        self.counts.lock().begin += 1;
        Ok(())
    }
    fn before_save(&mut self, _: &mut dyn Session, _: i64) -> Result<()> {
        self.counts.lock().before_save += 1;
        Ok(())
    }
    fn after_save(&mut self, _: &mut dyn Session, _: i64) -> Result<ListenerAction> {
        self.counts.lock().after_save += 1;
        Ok(if *self.ask_for_stop.lock() { ListenerAction::StopTraining } else { ListenerAction::Continue })
    }
    fn end(&mut self, _: &mut dyn Session, _: i64) -> Result<()> {
        self.counts.lock().end += 1;
        Ok(())
    }
}

fn counts(begin: usize, saves: usize, end: usize) -> Counts {
    Counts { begin, before_save: saves, after_save: saves, end }
}

// BH-018 test_saves_when_saver_and_scaffold_both_missing
#[test]
fn bh018_saver_from_collection() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut d = Driven::new(gg.g, CheckpointSaverHook::new(dir.path(), Every::Steps(1)).unwrap());
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(1));
}

// BH-019 test_raise_when_saver_and_scaffold_both_present
#[test]
fn bh019_saver_and_scaffold() {
    let mut g = GraphBuilder::new();
    g.get_or_create_global_step().unwrap();
    let saver = Saver::new(&mut g, None, SaverOptions::default()).unwrap();
    let e = CheckpointSaverHook::new("/tmp/x", Every::Steps(1))
        .unwrap()
        .saver(saver)
        .unwrap()
        .scaffold(Scaffold::new())
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("You cannot provide both saver and scaffold."));
}

// BH-020 test_raise_in_both_secs_and_steps / BH-021 test_raise_in_none_secs_and_steps: `Every` makes
// both/neither unwritable; the period is still validated.
#[test]
fn bh020_bh021_bad_period() {
    let e = CheckpointSaverHook::new("/tmp/x", Every::Steps(0)).unwrap_err();
    assert!(e.message().contains("save_steps"));
    let e = CheckpointSaverHook::new("/tmp/x", Every::Secs(-2.0)).unwrap_err();
    assert!(e.message().contains("save_secs"));
}

// BH-022 test_save_secs_saves_in_first_step, BH-030 test_save_steps_saves_in_first_step
#[test]
fn bh022_bh030_saves_in_first_step() {
    for every in [Every::Secs(2.0), Every::Steps(2)] {
        let dir = crate::common::tempdir();
        let gg = gs_graph(1);
        let mut d = Driven::new(gg.g, CheckpointSaverHook::new(dir.path(), every).unwrap());
        d.run(gg.train);
        assert_eq!(ckpt_step(dir.path()), Some(1));
    }
}

// BH-023 test_save_secs_calls_listeners_at_begin_and_end
#[test]
fn bh023_listeners_at_begin_and_end() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let l = Listener::default();
    let clock = ManualClock::new(0.0);
    let hook = CheckpointSaverHook::new(dir.path(), Every::Secs(2.0))
        .unwrap()
        .listener(l.clone())
        .clock(Clock::from(clock));
    let mut d = Driven::new(gg.g, hook);
    d.run(gg.train); // saves
    d.run(gg.train); // does not
    d.end().unwrap(); // saves step 2
    assert_eq!(*l.counts.lock(), counts(1, 2, 1));
}

fn monitored(
    dir: &std::path::Path,
    hook: CheckpointSaverHook,
) -> (SingularMonitoredSession, ferroflow_graph::Output) {
    let gg = gs_graph(1);
    let sess = SingularMonitoredSession::builder(gg.g).checkpoint_dir(dir).hook(hook).build().unwrap();
    (sess, gg.train)
}

// BH-024 test_listener_with_monitored_session
#[test]
fn bh024_listener_with_monitored_session() {
    let dir = crate::common::tempdir();
    let l = Listener::default();
    let hook = CheckpointSaverHook::new(dir.path(), Every::Steps(1))
        .unwrap()
        .scaffold(Scaffold::new())
        .unwrap()
        .listener(l.clone());
    let (mut sess, train) = monitored(dir.path(), hook);
    sess.run(train, &[]).unwrap();
    sess.run(train, &[]).unwrap();
    sess.close().unwrap();
    assert_eq!(*l.counts.lock(), counts(1, 3, 1));
    assert_eq!(ckpt_step(dir.path()), Some(2));
}

// BH-025 test_listener_stops_training_in_after_save
#[test]
fn bh025_listener_stops_training() {
    let dir = crate::common::tempdir();
    let l = Listener::default();
    let hook = CheckpointSaverHook::new(dir.path(), Every::Steps(1)).unwrap().listener(l.clone());
    let (mut sess, train) = monitored(dir.path(), hook);
    sess.run(train, &[]).unwrap();
    assert!(!sess.should_stop().unwrap());
    sess.run(train, &[]).unwrap();
    assert!(!sess.should_stop().unwrap());
    *l.ask_for_stop.lock() = true;
    sess.run(train, &[]).unwrap();
    assert!(sess.should_stop().unwrap());
}

// BH-026 test_listener_with_default_saver, BH-027 test_two_listeners_with_default_saver
#[test]
fn bh026_bh027_listeners_with_default_saver() {
    let dir = crate::common::tempdir();
    let (l1, l2) = (Listener::default(), Listener::default());
    let hook = CheckpointSaverHook::new(dir.path(), Every::Steps(1))
        .unwrap()
        .listener(l1.clone())
        .listener(l2.clone());
    let (mut sess, train) = monitored(dir.path(), hook);
    sess.run(train, &[]).unwrap();
    sess.run(train, &[]).unwrap();
    sess.close().unwrap();
    assert_eq!(*l1.counts.lock(), counts(1, 3, 1));
    assert_eq!(*l2.counts.lock(), counts(1, 3, 1));
    // A new session in a new graph restores step 2.
    let gg = gs_graph(1);
    let read = gg.gs.value();
    let mut sess = SingularMonitoredSession::builder(gg.g).checkpoint_dir(dir.path()).build().unwrap();
    assert_eq!(sess.run(read, &[]).unwrap().scalar::<i64>().unwrap(), 2);
}

// BH-028 test_save_secs_saves_periodically
#[test]
fn bh028_save_secs_saves_periodically() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let clock = ManualClock::new(100.0);
    let hook =
        CheckpointSaverHook::new(dir.path(), Every::Secs(2.0)).unwrap().clock(Clock::from(clock.clone()));
    let mut d = Driven::new(gg.g, hook);
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(1));
    clock.set(100.5);
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(1));
    clock.set(102.5);
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(3));
    clock.set(102.6);
    d.run(gg.train);
    clock.set(102.7);
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(3));
    clock.set(110.0);
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(6));
}

// BH-029 test_save_secs_calls_listeners_periodically
#[test]
fn bh029_save_secs_calls_listeners_periodically() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let l = Listener::default();
    let clock = ManualClock::new(0.0);
    let hook = CheckpointSaverHook::new(dir.path(), Every::Secs(2.0))
        .unwrap()
        .listener(l.clone())
        .clock(Clock::from(clock.clone()));
    let mut d = Driven::new(gg.g, hook);
    for t in [0.5, 0.5, 3.0, 3.5, 4.0, 6.5, 7.0] {
        clock.set(t);
        d.run(gg.train);
    }
    clock.set(7.5);
    d.end().unwrap();
    assert_eq!(*l.counts.lock(), counts(1, 4, 1));
}

// BH-031 test_save_steps_saves_periodically, BH-040 (resource-variable global step: ferroflow has one
// kind of variable, so the same test)
#[test]
fn bh031_bh040_save_steps_saves_periodically() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut d = Driven::new(gg.g, CheckpointSaverHook::new(dir.path(), Every::Steps(2)).unwrap());
    let mut seen = Vec::new();
    for _ in 0..5 {
        d.run(gg.train);
        seen.push(ckpt_step(dir.path()).unwrap());
    }
    assert_eq!(seen, [1, 1, 3, 3, 5]);
}

// BH-032 test_save_saves_at_end
#[test]
fn bh032_save_saves_at_end() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let clock = ManualClock::new(0.0);
    let hook = CheckpointSaverHook::new(dir.path(), Every::Secs(2.0)).unwrap().clock(Clock::from(clock));
    let mut d = Driven::new(gg.g, hook);
    d.run(gg.train);
    d.run(gg.train);
    d.end().unwrap();
    assert_eq!(ckpt_step(dir.path()), Some(2));
}

// BH-033 test_summary_writer_defs: after session creation and a run, the directory's writer holds the
// graph, one MetaGraphDef (graph + SaverDef) and CHECKPOINT session logs with the base path.
#[test]
fn bh033_writer_gets_graph_and_checkpoint_events() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut d = Driven::new(gg.g, CheckpointSaverHook::new(dir.path(), Every::Steps(2)).unwrap());
    d.after_create_session();
    d.run(gg.train);
    d.end().unwrap();
    let events = crate::hooks_common::events_in(dir.path());
    let graphs =
        events.iter().filter(|e| matches!(e.what, Some(ferroflow_proto::EventWhat::GraphDef(_)))).count();
    assert_eq!(graphs, 1);
    let metas: Vec<Vec<u8>> = events
        .iter()
        .filter_map(|e| match &e.what {
            Some(ferroflow_proto::EventWhat::MetaGraphDef(m)) => Some(m.clone()),
            _ => None,
        })
        .collect();
    // Exactly one meta graph, holding the graph (field 2) and a SaverDef naming the save op (field 3).
    assert_eq!(metas.len(), 1);
    assert_eq!(metas[0][0], 0x12);
    assert!(String::from_utf8_lossy(&metas[0]).contains("save"), "{:?}", &metas[0][..16]);
    let logs = session_logs_in(dir.path());
    let base = dir.path().join("model.ckpt").to_string_lossy().into_owned();
    assert_eq!(logs, vec![(0, 3, base.clone()), (1, 3, base)]);
}

// BH-034 test_save_checkpoint_before_first_train_step
#[test]
fn bh034_save_checkpoint_before_first_train_step() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut d = Driven::new(gg.g, CheckpointSaverHook::new(dir.path(), Every::Steps(2)).unwrap());
    d.after_create_session();
    assert_eq!(ckpt_step(dir.path()), Some(0));
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(0));
    d.run(gg.train);
    assert_eq!(ckpt_step(dir.path()), Some(2));
}

fn multi_step() -> (tempfile::TempDir, Driven<CheckpointSaverHook>, ferroflow_graph::Output) {
    let dir = crate::common::tempdir();
    let gg = gs_graph(5);
    let hook = CheckpointSaverHook::new(dir.path(), Every::Steps(10)).unwrap().steps_per_run(5);
    let d = Driven::new(gg.g, hook);
    (dir, d, gg.train)
}

// BH-037 test_save_steps_saves_in_first_step (multi-step)
#[test]
fn bh037_multi_step_saves_in_first_step() {
    let (dir, mut d, train) = multi_step();
    d.run(train);
    assert_eq!(ckpt_step(dir.path()), Some(5));
}

// BH-038 test_save_steps_saves_periodically (multi-step)
#[test]
fn bh038_multi_step_saves_periodically() {
    let (dir, mut d, train) = multi_step();
    let mut seen = Vec::new();
    for _ in 0..5 {
        d.run(train);
        seen.push(ckpt_step(dir.path()).unwrap());
    }
    assert_eq!(seen, [5, 5, 15, 15, 25]);
}

// BH-039 test_save_steps_saves_at_end (multi-step)
#[test]
fn bh039_multi_step_saves_at_end() {
    let (dir, mut d, train) = multi_step();
    d.run(train);
    d.run(train);
    assert_eq!(ckpt_step(dir.path()), Some(5));
    d.end().unwrap();
    assert_eq!(ckpt_step(dir.path()), Some(10));
}
