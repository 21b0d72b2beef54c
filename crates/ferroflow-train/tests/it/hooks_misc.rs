//! Ports of `GlobalStepWaiterHookTest`, `FinalOpsHookTest`, `FeedFnHookTest` and `ProfilerHookTest`
//! (BH-056..BH-061, BH-063..BH-070) with the standard hooks.

use crate::hooks_common::{gs_graph, set_gs, Driven};
use ferroflow_core::{Code, DType, PartialShape, Tensor};
use ferroflow_graph::GraphBuilder;
use ferroflow_train::hooks::{
    chrome_trace_json, FeedFnHook, FinalOpsHook, GlobalStepWaiterHook, ProfilerHook,
};
use ferroflow_train::{Clock, Every, ManualClock, SingularMonitoredSession};
use parking_lot::Mutex;
use std::sync::Arc;

// BH-056 test_not_wait_for_step_zero
#[test]
fn bh056_not_wait_for_step_zero() {
    let gg = gs_graph(1);
    let waits = Arc::new(Mutex::new(0));
    let w = Arc::clone(&waits);
    let hook = GlobalStepWaiterHook::new(0).wait_with(move |_, _| {
        *w.lock() += 1;
        Ok(())
    });
    let mut d = Driven::new(gg.g, hook);
    d.run(gg.train);
    assert_eq!(*waits.lock(), 0);
}

// BH-057 test_wait_for_step: the 1st wait sets the step to 500, the 2nd to 1100; before_run returns
// after exactly 2 waits.
#[test]
fn bh057_wait_for_step() {
    let gg = gs_graph(1);
    let (set, p) = (gg.set, gg.p);
    let waits = Arc::new(Mutex::new(0));
    let w = Arc::clone(&waits);
    let hook = GlobalStepWaiterHook::new(1000).wait_with(move |s, d| {
        assert_eq!(d.as_secs_f64(), 0.5);
        let mut n = w.lock();
        *n += 1;
        set_gs(s, set, p, if *n == 1 { 500 } else { 1100 });
        Ok(())
    });
    let mut d = Driven::new(gg.g, hook);
    d.run(gg.train);
    assert_eq!(*waits.lock(), 2);
    d.run(gg.train);
    assert_eq!(*waits.lock(), 2);
}

fn final_values(g: GraphBuilder, hook: FinalOpsHook) -> ferroflow_core::Result<ferroflow_session::Fetched> {
    let values = hook.values();
    let mut sess = SingularMonitoredSession::builder(g).hook(hook).build()?;
    sess.close()?;
    let v = values.lock().take();
    Ok(v.unwrap())
}

// BH-058 test_final_ops_is_scalar_tensor, BH-059 test_final_ops_is_tensor
#[test]
fn bh058_bh059_final_ops() {
    let mut g = GraphBuilder::new();
    let four = g.constant(Tensor::scalar(4i32)).unwrap();
    assert_eq!(final_values(g, FinalOpsHook::new(four, vec![])).unwrap().scalar::<i32>().unwrap(), 4);
    let mut g = GraphBuilder::new();
    let t = g.constant(Tensor::vector(vec![1i32, 6, 3, 5, 2, 4])).unwrap();
    let v = final_values(g, FinalOpsHook::new(t, vec![])).unwrap();
    assert_eq!(v.tensor().unwrap().to_vec::<i32>().unwrap(), [1, 6, 3, 5, 2, 4]);
}

/// A kernel that reports the end of its input, as reading an exhausted dataset does.
struct EndOfSequence;
impl ferroflow_session::OpKernel for EndOfSequence {
    fn compute(&self, _: &mut ferroflow_session::OpKernelContext<'_>) -> ferroflow_core::Result<()> {
        Err(ferroflow_core::Error::out_of_range("End of sequence"))
    }
}

// BH-060 test_final_ops_triggers_out_of_range_error: the final op reads an exhausted input; end()
// (through close()) returns OutOfRange "End of sequence" (FinalOpsHook logs TF's warning about a
// "dependency back to some input source").
#[test]
fn bh060_final_ops_out_of_range() {
    ferroflow_session::register_kernel("TestEndOfSequence", |_| Ok(Box::new(EndOfSequence)));
    let mut g = GraphBuilder::new();
    let spec = ferroflow_graph::NodeSpec::new("TestEndOfSequence", vec![])
        .output(DType::I32, PartialShape::scalar());
    let next = g.add_node(spec).unwrap().output(0);
    let hook = FinalOpsHook::new(next, vec![]);
    let values = hook.values();
    let mut sess = SingularMonitoredSession::builder(g).hook(hook).build().unwrap();
    let e = sess.close().unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange);
    assert!(e.message().contains("End of sequence"), "{e}");
    assert!(values.lock().is_none());
}

// BH-061 test_final_ops_with_dictionary
#[test]
fn bh061_final_ops_with_feed() {
    let mut g = GraphBuilder::new();
    let p = g.placeholder(DType::I32, PartialShape::known(&[2]), "p").unwrap();
    let y = g.identity(p).unwrap();
    let v = final_values(g, FinalOpsHook::new(y, vec![(p, Tensor::vector(vec![4i32, -3]))])).unwrap();
    assert_eq!(v.tensor().unwrap().to_vec::<i32>().unwrap(), [4, -3]);
}

// BH-063 test_feeding_placeholder
#[test]
fn bh063_feeding_placeholder() {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(DType::F32, PartialShape::scalar(), "x").unwrap();
    let one = g.constant(Tensor::scalar(1.0f32)).unwrap();
    let y = g.add(x, one).unwrap();
    let mut sess = SingularMonitoredSession::builder(g)
        .hook(FeedFnHook::new(move || vec![(x, Tensor::scalar(1.0f32))]))
        .build()
        .unwrap();
    assert_eq!(sess.run(y, &[]).unwrap().scalar::<f32>().unwrap(), 2.0);
}

fn timelines(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("timeline-"))
                .count()
        })
        .unwrap_or(0)
}

fn profiled(
    dir: &std::path::Path,
    every: Every,
    clock: Option<ManualClock>,
) -> (SingularMonitoredSession, ferroflow_graph::Output) {
    let gg = gs_graph(1);
    let mut hook = ProfilerHook::new(every, dir).unwrap();
    if let Some(c) = clock {
        hook = hook.clock(Clock::from(c));
    }
    let sess = SingularMonitoredSession::builder(gg.g).hook(hook).build().unwrap();
    (sess, gg.train)
}

// BH-064/BH-065: `Every` makes both/neither unwritable; a non-positive period fails.
#[test]
fn bh064_bh065_bad_period() {
    assert!(ProfilerHook::new(Every::Steps(0), "/tmp/x").unwrap_err().message().contains("save_steps"));
    assert!(ProfilerHook::new(Every::Secs(0.0), "/tmp/x").unwrap_err().message().contains("save_secs"));
}

// BH-066 test_save_secs_does_not_save_in_first_step, BH-068 test_save_steps_does_not_save_in_first_step
#[test]
fn bh066_bh068_no_save_in_first_step() {
    for every in [Every::Secs(2.0), Every::Steps(1)] {
        let dir = crate::common::tempdir();
        let (mut sess, train) = profiled(dir.path(), every, None);
        sess.run(train, &[]).unwrap();
        assert_eq!(timelines(dir.path()), 0);
    }
}

// BH-067 test_save_secs_saves_periodically
#[test]
fn bh067_save_secs_saves_periodically() {
    let dir = crate::common::tempdir();
    let clock = ManualClock::new(100.0);
    let (mut sess, train) = profiled(dir.path(), Every::Secs(2.0), Some(clock.clone()));
    let mut seen = Vec::new();
    for t in [100.0, 102.5, 102.6, 104.4, 104.5] {
        clock.set(t);
        sess.run(train, &[]).unwrap();
        seen.push(timelines(dir.path()));
    }
    assert_eq!(seen, [0, 1, 1, 1, 2]);
}

// BH-069 test_save_steps_saves_periodically
#[test]
fn bh069_save_steps_saves_periodically() {
    let dir = crate::common::tempdir();
    let (mut sess, train) = profiled(dir.path(), Every::Steps(2), None);
    assert_eq!(timelines(dir.path()), 0);
    let mut seen = Vec::new();
    for _ in 0..5 {
        sess.run(train, &[]).unwrap();
        seen.push(timelines(dir.path()));
    }
    assert_eq!(seen, [0, 1, 1, 2, 2]);
}

// BH-070 test_run_metadata_saves: run metadata only under `step_2`; the timeline is a Chrome trace.
#[test]
fn bh070_run_metadata_saves() {
    let dir = crate::common::tempdir();
    let (mut sess, train) = profiled(dir.path(), Every::Steps(1), None);
    sess.run(train, &[]).unwrap();
    sess.run(train, &[]).unwrap();
    sess.close().unwrap();
    ferroflow_summary::SummaryWriterCache::get(dir.path()).unwrap().flush().unwrap();
    let tags: Vec<String> = crate::hooks_common::events_in(dir.path())
        .into_iter()
        .filter_map(|e| match e.what {
            Some(ferroflow_proto::EventWhat::TaggedRunMetadata(t)) => Some(t.tag),
            _ => None,
        })
        .collect();
    assert_eq!(tags, ["step_2"]);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("timeline-2.json")).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    assert!(events.iter().any(|e| e["ph"] == "X" && e["dur"].as_i64().unwrap() >= 1), "{json}");
    assert!(chrome_trace_json(&ferroflow_session::RunMetadata::default())["traceEvents"]
        .as_array()
        .unwrap()
        .is_empty());
}
