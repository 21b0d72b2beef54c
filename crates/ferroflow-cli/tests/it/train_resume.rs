//! Training to a step, resuming to a later one, and finishing at once when already there.

use crate::{prefix_of, run, train};

#[test]
fn resumes_and_continues_the_global_step() {
    let dir = tempfile::tempdir().unwrap();
    let first = train(dir.path(), 30, &["--save-checkpoint-steps", "10"]);
    assert_eq!(first["global_step"], 30);
    assert_eq!(first["restored_from"], serde_json::Value::Null);
    assert_eq!(first["stop_reason"], "last_step");
    let ckpt = prefix_of(&first, "checkpoint").unwrap();
    assert!(ckpt.ends_with("model.ckpt-30"), "{ckpt:?}");
    for key in ["loss", "train_accuracy", "eval_accuracy", "steps_per_sec"] {
        assert!(first[key].is_number(), "{key} in {first}");
    }

    let second = train(dir.path(), 50, &["--save-checkpoint-steps", "10"]);
    assert_eq!(second["global_step"], 50);
    assert_eq!(prefix_of(&second, "restored_from"), Some(ckpt.clone()));
    assert!(prefix_of(&second, "checkpoint").unwrap().ends_with("model.ckpt-50"));

    // The same --steps again: nothing to do, nothing saved.
    let third = train(dir.path(), 50, &[]);
    assert_eq!(third["global_step"], 50);
    assert_eq!(third["steps_per_sec"], 0.0);
    assert_eq!(third["restored_from"], second["checkpoint"]);
    assert_eq!(third["checkpoint"], second["checkpoint"]);

    // The checkpoint holds the model's variables and the global step.
    let out = run(&["inspect-checkpoint", &dir.path().display().to_string(), "--json"]);
    assert!(out.status.success());
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> =
        listing["tensors"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["global_step", "logits/biases", "logits/weights"]);
}

#[test]
fn writes_scalar_summaries_every_k_steps() {
    let dir = tempfile::tempdir().unwrap();
    train(dir.path(), 20, &["--save-summaries-steps", "5", "--log-step-count-steps", "10"]);
    let out = run(&["events", &dir.path().display().to_string(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let series: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = |tag: &str| -> Vec<i64> {
        series[tag].as_array().unwrap().iter().map(|p| p[0].as_i64().unwrap()).collect()
    };
    // SummarySaverHook's steps: the global step after the run that computed the value (TF's).
    assert_eq!(steps("loss"), [1, 6, 11, 16]);
    assert_eq!(steps("accuracy"), [1, 6, 11, 16]);
    // StepCounterHook first triggers at step 1 (no rate yet), then every 10 steps (TF's).
    assert_eq!(steps("global_step/sec"), [11]);
}

#[test]
fn defaults_reach_95_percent_held_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::ferroflow()
        .args(["train", "--checkpoint-dir", &dir.path().display().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = crate::report_of(&out.stdout);
    assert_eq!(report["global_step"], 1000);
    assert!(report["eval_accuracy"].as_f64().unwrap() >= 0.95, "{report}");
    assert!(report["loss"].as_f64().unwrap() < 0.5, "{report}");
}
