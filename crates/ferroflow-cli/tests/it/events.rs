//! `events` on files written by `FileWriter` (with a crash and restart) and on TensorFlow's golden file.

use crate::{assert_usage_error, fixture, run};
use ferroflow_proto::SessionLog;
use ferroflow_summary::{scalar, FileWriter};
use serde_json::{json, Value};
use std::path::Path;

fn events_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Writes one event file with `FileWriter` and moves it to `dest` under a chosen name (event file names
/// carry the time in seconds; tests must not depend on the clock for the order).
pub(crate) fn write_file(dest: &Path, name: &str, fill: impl FnOnce(&FileWriter)) {
    let tmp = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(tmp.path()).unwrap();
    fill(&writer);
    writer.close().unwrap();
    std::fs::create_dir_all(dest).unwrap();
    std::fs::rename(writer.path(), dest.join(name)).unwrap();
}

#[test]
fn a_restart_drops_the_crashed_runs_later_points() {
    let logdir = tempfile::tempdir().unwrap();
    write_file(logdir.path(), "events.out.tfevents.0000000001.host.1.0", |w| {
        w.add_session_log(&SessionLog::start(), 0).unwrap();
        for step in 0..10 {
            w.add_summary(&scalar("loss", 1.0), step).unwrap();
            w.add_summary(&scalar("lr", 0.5), step).unwrap();
        }
    });
    // Restarted from the checkpoint at step 6.
    write_file(logdir.path(), "events.out.tfevents.0000000002.host.2.0", |w| {
        w.add_session_log(&SessionLog::start(), 6).unwrap();
        for step in 6..8 {
            w.add_summary(&scalar("loss", 0.25), step).unwrap();
        }
    });
    let series = events_json(&["events", &logdir.path().display().to_string(), "--json"]);
    assert_eq!(
        series["loss"],
        json!([[0, 1.0], [1, 1.0], [2, 1.0], [3, 1.0], [4, 1.0], [5, 1.0], [6, 0.25], [7, 0.25]])
    );
    assert_eq!(series["lr"].as_array().unwrap().len(), 6, "every tag is purged: {series}");

    let text =
        String::from_utf8_lossy(&run(&["events", &logdir.path().display().to_string()]).stdout).into_owned();
    assert!(text.starts_with("loss (8 points)\n  0\t1\n"), "{text}");
}

#[test]
fn reads_tensorflows_golden_event_file() {
    let logdir = tempfile::tempdir().unwrap();
    let golden = fixture("ferroflow-summary/tests/fixtures/tf1_golden.tfevents");
    std::fs::copy(&golden, logdir.path().join("events.out.tfevents.1.golden")).unwrap();
    let series = events_json(&["events", &logdir.path().display().to_string(), "--json"]);
    // Histograms and text are not scalars.
    assert_eq!(series, json!({"loss": [[1, 0.5], [2, 0.25], [3, 0.125]]}));
    // The file on its own reads the same.
    assert_eq!(events_json(&["events", &golden.display().to_string(), "--json"]), series);
}

#[test]
fn runs_are_subdirectories() {
    let logdir = tempfile::tempdir().unwrap();
    write_file(&logdir.path().join("train"), "events.out.tfevents.1.a", |w| {
        w.add_summary(&scalar("loss", 0.1), 1).unwrap();
    });
    write_file(&logdir.path().join("eval/nested"), "events.out.tfevents.1.b", |w| {
        w.add_summary(&scalar("accuracy", 0.9), 2).unwrap();
    });
    let d = logdir.path().display().to_string();
    let runs = events_json(&["events", &d, "--json", "--runs"]);
    assert_eq!(runs, json!({"eval/nested": {"accuracy": [[2, 0.9]]}, "train": {"loss": [[1, 0.1]]}}));
    // Without --runs, LOGDIR's own files only: none here, and the message says what to do.
    let err = assert_usage_error(&run(&["events", &d]));
    assert!(err.contains("--runs"), "{err}");
}

#[test]
fn a_missing_logdir_or_a_non_event_file_is_a_usage_error() {
    assert_usage_error(&run(&["events", "/nonexistent/logdir"]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, vec![7u8; 64]).unwrap();
    assert_usage_error(&run(&["events", &file.display().to_string()]));
}
