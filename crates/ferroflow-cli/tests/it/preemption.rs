//! SIGTERM stops cleanly with a checkpoint; `kill -9` at any moment leaves a directory a rerun resumes from.

use crate::{ferroflow, prefix_of, report_of, run, train, train_args};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts a long training run and returns once its first step ran (it prints the starting line to stderr
/// after installing the signal handlers).
fn start_long_run(dir: &std::path::Path, extra: &[&str]) -> (Child, std::thread::JoinHandle<String>) {
    let mut child = ferroflow()
        .args(train_args(dir, 100_000_000, extra))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let _ = tx.send(());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("the run printed its starting line");
    (child, reader)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_saves_and_reports_preempted() {
    let dir = tempfile::tempdir().unwrap();
    let (child, stderr) = start_long_run(dir.path(), &["--log-step-count-steps", "0"]);
    std::thread::sleep(Duration::from_millis(300));
    let status =
        std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(out.status.success(), "exit after SIGTERM: {:?}; stderr: {stderr}", out.status);
    let report = report_of(&out.stdout);
    assert_eq!(report["stop_reason"], "preempted");
    let step = report["global_step"].as_i64().unwrap();
    assert!(step > 0 && step < 100_000_000, "{report}");
    let ckpt = prefix_of(&report, "checkpoint").unwrap();
    assert!(ckpt.ends_with(format!("model.ckpt-{step}")), "{ckpt:?}");

    // A rerun to that step restores it and has nothing left to do.
    let again = train(dir.path(), step, &[]);
    assert_eq!(again["global_step"], step);
    assert_eq!(prefix_of(&again, "restored_from"), Some(ckpt));
}

#[test]
fn kill_9_then_rerun_resumes_from_the_newest_complete_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, stderr) =
        start_long_run(dir.path(), &["--save-checkpoint-steps", "7", "--save-summaries-steps", "3"]);
    // Let it save a few checkpoints, then kill it wherever it is (possibly mid-save).
    wait_for("three checkpoints", || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".index"))
            .count()
            >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    stderr.join().unwrap();

    let state = std::fs::read_to_string(dir.path().join("checkpoint")).unwrap();
    let newest: i64 = state
        .lines()
        .find_map(|l| l.strip_prefix("model_checkpoint_path: "))
        .and_then(|p| p.trim_matches('"').rsplit('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let target = newest + 20;
    let report = train(dir.path(), target, &["--save-checkpoint-steps", "7", "--save-summaries-steps", "3"]);
    assert_eq!(report["global_step"], target);
    let restored = prefix_of(&report, "restored_from").unwrap();
    assert!(restored.ends_with(format!("model.ckpt-{newest}")), "{restored:?} vs {newest}");

    // TensorBoard's view: the resumed run's points (SummarySaverHook's steps, newest + 1, + 4, ...) follow
    // whatever the killed run had flushed before its restart point, in order and without duplicates.
    let out = run(&["events", &dir.path().display().to_string(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let series: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<i64> = series["loss"].as_array().unwrap().iter().map(|p| p[0].as_i64().unwrap()).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    let resumed: Vec<i64> = (newest + 1..target).step_by(3).collect();
    assert!(steps.ends_with(&resumed), "{steps:?} ends with {resumed:?}");
}
