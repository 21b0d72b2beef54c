//! Hooks beyond TF1: preemption, early stopping, progress display, metric loggers.

use crate::hooks_common::{ckpt_step, gs_graph, session_logs_in};
use ferroflow_core::{DType, PartialShape, Tensor};
use ferroflow_train::hooks::{
    EarlyStoppingHook, MetricFormat, MetricLoggerHook, Mode, PreemptionHook, ProgressHook, StopReason,
};
use ferroflow_train::{Clock, Every, ManualClock, MonitoredSession, MonitoredTrainingSession};
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A signal (simulated through the hook's flag) finishes the step, saves, stops, records why.
#[test]
fn preemption_saves_and_stops() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let hook = PreemptionHook::new(Some(dir.path().to_path_buf()));
    let flag = hook.signal_flag();
    let reason = hook.reason();
    let mut sess = MonitoredSession::builder(gg.g).hook(hook).build().unwrap();
    let mut runs = 0;
    while !sess.should_stop().unwrap() {
        sess.run(gg.train, &[]).unwrap();
        runs += 1;
        if runs == 3 {
            flag.store(15, Ordering::SeqCst);
        }
    }
    sess.close().unwrap();
    // The flag was set between runs 3 and 4: run 4 finishes, then the hook saves and stops.
    assert_eq!(runs, 4);
    assert_eq!(ckpt_step(dir.path()), Some(4));
    let r = reason.lock().clone().unwrap();
    assert!(matches!(r, StopReason::Preempted { signal: 15, step: 4, checkpoint: Some(_) }), "{r:?}");
    ferroflow_summary::SummaryWriterCache::get(dir.path()).unwrap().flush().unwrap();
    assert!(session_logs_in(dir.path()).iter().any(|l| l.0 == 4 && l.1 == 2));
    // Drop the first hook (and its handlers) before raising a real signal.
    drop(sess);
    preemption_on_real_sigterm();
}

/// A real SIGTERM through MonitoredTrainingSession's switch (in the same test as the simulated one, so
/// that no other preemption hook of this process sees the signal).
fn preemption_on_real_sigterm() {
    let dir = crate::common::tempdir();
    let gg = gs_graph(1);
    let mut sess =
        MonitoredTrainingSession::builder(gg.g).checkpoint_dir(dir.path()).preemption(true).build().unwrap();
    sess.run(gg.train, &[]).unwrap();
    signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
    sess.run(gg.train, &[]).unwrap();
    assert!(sess.should_stop().unwrap());
    sess.close().unwrap();
    assert_eq!(ckpt_step(dir.path()), Some(2));
}

fn metric_graph() -> (crate::hooks_common::GsGraph, ferroflow_graph::Output, ferroflow_graph::Output) {
    let mut gg = gs_graph(1);
    let p = gg.g.placeholder(DType::F32, PartialShape::scalar(), "metric_in").unwrap();
    let m = gg.g.identity(p).unwrap();
    (gg, p, m)
}

/// Patience counts evaluations without an improvement larger than min_delta (Keras semantics).
#[test]
fn early_stopping_patience_and_min_delta() {
    let (gg, p, m) = metric_graph();
    let hook =
        EarlyStoppingHook::new(m, Mode::Min, Every::Steps(1)).unwrap().patience(2).min_delta(0.05).unwrap();
    let best = hook.best();
    let mut sess = MonitoredSession::builder(gg.g).hook(hook).build().unwrap();
    let losses = [1.0f32, 0.8, 0.79, 0.78, 0.77];
    let mut stopped_at = None;
    for (i, l) in losses.iter().enumerate() {
        sess.run(gg.train, &[(p, Tensor::scalar(*l))]).unwrap();
        if sess.should_stop().unwrap() {
            stopped_at = Some(i);
            break;
        }
    }
    // 0.79, 0.78 do not improve by > 0.05 (waited 1, 2); 0.77 makes 3 > patience 2.
    assert_eq!(stopped_at, Some(4));
    assert_eq!(*best.lock(), Some((2, 0.800000011920929)));
}

/// TF's stop_if_higher_hook: a threshold.
#[test]
fn early_stopping_threshold() {
    let (gg, p, m) = metric_graph();
    let hook = EarlyStoppingHook::new(m, Mode::Max, Every::Steps(1)).unwrap().threshold(0.9).patience(100);
    let mut sess = MonitoredSession::builder(gg.g).hook(hook).build().unwrap();
    sess.run(gg.train, &[(p, Tensor::scalar(0.5f32))]).unwrap();
    assert!(!sess.should_stop().unwrap());
    sess.run(gg.train, &[(p, Tensor::scalar(0.95f32))]).unwrap();
    assert!(sess.should_stop().unwrap());
    assert!(EarlyStoppingHook::new(m, Mode::Max, Every::Steps(0)).is_err());
}

/// Plain lines at most every `line_every`; values fetched only on displayed runs.
#[test]
fn progress_plain_lines() {
    let (gg, p, m) = metric_graph();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = Arc::clone(&lines);
    let clock = ManualClock::new(0.0);
    let hook = ProgressHook::new(Some(10))
        .live(false)
        .line_every_secs(30.0)
        .value("loss", m)
        .clock(Clock::from(clock.clone()))
        .sink(move |s| l.lock().push(s.to_string()));
    let mut sess = MonitoredSession::builder(gg.g).hook(hook).build().unwrap();
    for _ in 0..10 {
        clock.advance(10.0);
        sess.run(gg.train, &[(p, Tensor::scalar(0.5f32))]).unwrap();
    }
    sess.close().unwrap();
    let lines = lines.lock().clone();
    // Runs at t=10 (first), 40, 70, 100, then the final line.
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[0].starts_with("step 1/10"), "{lines:?}");
    assert!(lines[1].contains("loss=0.5") && lines[1].contains("ETA"), "{lines:?}");
    assert!(lines[4].contains("step 10/10"), "{lines:?}");
}

#[test]
fn progress_live_bar() {
    let gg = gs_graph(1);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = Arc::clone(&lines);
    let hook = ProgressHook::new(Some(4)).live(true).sink(move |s| l.lock().push(s.to_string()));
    let mut sess = MonitoredSession::builder(gg.g).hook(hook).build().unwrap();
    sess.run(gg.train, &[]).unwrap();
    sess.close().unwrap();
    assert!(lines.lock()[0].starts_with("[=======>"), "{:?}", lines.lock());
}

#[test]
fn metric_logger_csv_and_jsonl() {
    let dir = crate::common::tempdir();
    for (format, name) in [(MetricFormat::Csv, "m.csv"), (MetricFormat::JsonLines, "m.jsonl")] {
        let (gg, p, m) = metric_graph();
        let path = dir.path().join(name);
        let hook = MetricLoggerHook::new(&path, format, Every::Steps(2)).unwrap().metric("loss", m);
        let mut sess = MonitoredSession::builder(gg.g).hook(hook).build().unwrap();
        for i in 0..5 {
            sess.run(gg.train, &[(p, Tensor::scalar(i as f32))]).unwrap();
        }
        sess.close().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        match format {
            MetricFormat::Csv => {
                assert_eq!(lines[0], "step,wall_time,loss");
                let steps: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
                assert_eq!(steps, ["1", "3", "5"]);
                assert!(lines[2].ends_with(",2"), "{text}");
            }
            MetricFormat::JsonLines => {
                let rows: Vec<serde_json::Value> =
                    lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
                assert_eq!(rows.iter().map(|r| r["step"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 3, 5]);
                assert_eq!(rows[2]["loss"].as_f64(), Some(4.0));
            }
        }
    }
}
