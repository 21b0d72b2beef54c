//! What the real TensorBoard (`oracle/read_events.py`, the Python server's loader) shows for files our
//! writer produced.

use ferroflow_core::Tensor;
use ferroflow_proto::{SessionLog, Summary};
use ferroflow_summary::{histogram, image, scalar, text, FileWriter};
use serde_json::Value;
use std::path::Path;

fn read_events(test: &str, logdir: &Path) -> Option<Value> {
    let py = ferroflow_oracle::python(test).unwrap()?;
    let script = ferroflow_oracle::shared_oracle_dir().join("read_events.py");
    let out = ferroflow_oracle::run(&py, &[script.to_str().unwrap(), logdir.to_str().unwrap()]).unwrap();
    Some(serde_json::from_str(&out).unwrap())
}

fn series(run: &Value, kind: &str, tag: &str) -> Vec<(i64, Value)> {
    run[kind][tag]
        .as_array()
        .unwrap_or_else(|| panic!("no {kind} tag {tag} in {run}"))
        .iter()
        .map(|p| {
            (
                p["step"].as_i64().unwrap(),
                if kind == "scalars" { p["value"].clone() } else { p["buckets"].clone() },
            )
        })
        .collect()
}

#[test]
fn tensorboard_reads_scalars_histograms_text_and_images() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    for step in 0..200i64 {
        // Several values per event, as a merged summary op produces them.
        let mut summary = scalar("loss", 1.0 / (step + 1) as f32);
        summary.value.extend(scalar("lr", 0.01 * step as f32).value);
        writer.add_summary(&summary, step).unwrap();
        if step % 50 == 0 {
            let data: Vec<f64> = (0..100).map(|i| (i as f64 - 50.0) * 0.1 + step as f64).collect();
            writer.add_summary(&histogram("weights", &data).unwrap(), step).unwrap();
        }
    }
    writer.add_summary(&text("notes", &["first note", "second"]).unwrap(), 7).unwrap();
    writer.add_summary(&text("notes", &["later note"]).unwrap(), 8).unwrap();
    let rgb: Vec<f32> = (0..2 * 8 * 8 * 3).map(|i| (i % 17) as f32 / 17.0 - 0.25).collect();
    writer.add_summary(&image("rgb", &Tensor::from_vec(&[2, 8, 8, 3], rgb).unwrap(), 3).unwrap(), 5).unwrap();
    let gray = Tensor::from_vec(&[1, 4, 4, 1], (0..16u8).map(|v| v * 16).collect()).unwrap();
    // Serialized bytes, as a summary op's output reaches the writer.
    let gray_bytes = ferroflow_proto::prost::Message::encode_to_vec(&image("gray", &gray, 1).unwrap());
    writer.add_summary(&gray_bytes, 5).unwrap();
    writer.close().unwrap();

    let Some(json) = read_events("tensorboard_reads_scalars_histograms_text_and_images", dir.path()) else {
        return;
    };
    let run = &json["runs"]["."];
    assert_eq!(run["file_version"], "brain.Event:2");
    let loss = series(run, "scalars", "loss");
    assert_eq!(loss.len(), 200);
    for (i, (step, value)) in loss.iter().enumerate() {
        assert_eq!(*step, i as i64);
        let want = 1.0 / (i + 1) as f32;
        assert!((value.as_f64().unwrap() - f64::from(want)).abs() < 1e-7, "step {step}: {value}");
    }
    let lr = series(run, "scalars", "lr");
    assert_eq!(lr.len(), 200);
    assert!((lr[100].1.as_f64().unwrap() - 1.0).abs() < 1e-6);

    let weights = series(run, "histograms", "weights");
    assert_eq!(weights.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [0, 50, 100, 150]);
    for (step, buckets) in &weights {
        let total: f64 = buckets.as_array().unwrap().iter().map(|b| b[2].as_f64().unwrap()).sum();
        assert_eq!(total, 100.0, "step {step}: every value lands in a bucket");
    }

    assert_eq!(run["other"]["notes"], serde_json::json!({"plugin": "text", "count": 2}));
    for tag in ["rgb/image/0", "rgb/image/1", "gray/image"] {
        assert_eq!(run["other"][tag], serde_json::json!({"plugin": "images", "count": 1}), "{tag} in {run}");
    }
    assert!(run["other"]["rgb/image/2"].is_null(), "batch of 2 gives 2 images");
}

/// Steps 0..=20, a crash after a flush, then a restart from a checkpoint at step 10 that redoes
/// steps 10..=30, with new values.
fn write_crash_and_restart(dir: &Path) {
    let start = SessionLog::start();
    let point = |tag: &str, v: f32| -> Summary { scalar(tag, v) };

    let first = FileWriter::new(dir).unwrap();
    // What SummarySaverHook writes on its first run: START at the current global step.
    first.add_session_log(&start, 0).unwrap();
    for step in 0..=20 {
        first.add_summary(&point("loss", 100.0 + step as f32), step).unwrap();
    }
    first.flush().unwrap();
    drop(first); // the "crash": no close, no STOP; everything flushed is on disk
    wait_for_next_second();

    let second = FileWriter::new(dir).unwrap();
    // Both signals: SessionLog START at the restored step (the Python loader purges on it) and steps
    // that go back per tag (RustBoard drops that tag's points at or after the new step).
    second.add_session_log(&start, 10).unwrap();
    for step in 10..=30 {
        second.add_summary(&point("loss", 1000.0 + step as f32), step).unwrap();
    }
    second.close().unwrap();
    assert_eq!(crate::event_files(dir).len(), 2, "a restart writes a new file");
}

fn assert_each_step_once(loss: &[(i64, f64)]) {
    let steps: Vec<i64> = loss.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, (0..=30).collect::<Vec<_>>(), "each step once, in order");
    for (step, value) in loss {
        let want = if *step < 10 { 100.0 } else { 1000.0 } + *step as f64;
        assert_eq!(*value, want, "step {step}");
    }
}

/// The Python loader (`plugin_event_accumulator`) purges on the second START.
#[test]
fn crash_and_restart_show_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    write_crash_and_restart(dir.path());
    let Some(json) = read_events("crash_and_restart_show_each_step_once", dir.path()) else { return };
    let loss: Vec<(i64, f64)> = series(&json["runs"]["."], "scalars", "loss")
        .into_iter()
        .map(|(s, v)| (s, v.as_f64().unwrap()))
        .collect();
    assert_each_step_once(&loss);
}

/// RustBoard (the default back end, `--load_fast=true`) ignores SessionLog and keeps steps increasing
/// per tag; checked through a real `tensorboard` server.
#[test]
fn crash_and_restart_show_each_step_once_in_rustboard() {
    let dir = tempfile::tempdir().unwrap();
    write_crash_and_restart(dir.path());
    let Some(py) = ferroflow_oracle::python("crash_and_restart_show_each_step_once_in_rustboard").unwrap()
    else {
        return;
    };
    let script = ferroflow_oracle::shared_oracle_dir().join("query_tensorboard.py");
    let out = ferroflow_oracle::run(
        &py,
        &[script.to_str().unwrap(), dir.path().to_str().unwrap(), "--load-fast", "true"],
    )
    .unwrap();
    let json: Value = serde_json::from_str(&out).unwrap();
    let runs = json["scalars"].as_object().unwrap();
    assert_eq!(runs.len(), 1, "{json}");
    let points = runs.values().next().unwrap()["loss"].as_array().unwrap();
    let loss: Vec<(i64, f64)> =
        points.iter().map(|p| (p[1].as_i64().unwrap(), p[2].as_f64().unwrap())).collect();
    assert_each_step_once(&loss);
}

/// File names carry whole seconds, then a process-wide counter; waiting for the next second keeps
/// TensorBoard's name order equal to creation order even when other tests bump the counter.
fn wait_for_next_second() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    std::thread::sleep(std::time::Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()) + 1_000_000,
    ));
}
