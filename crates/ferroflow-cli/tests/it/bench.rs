//! `bench` prints tf1_bench.py's JSON fields, for each of its models and modes.

use crate::{assert_usage_error, run};

#[test]
fn prints_tf1_bench_fields() {
    let out = run(&["bench", "--model", "tiny", "--steps", "5", "--warmup", "2", "--threads", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = crate::report_of(&out.stdout);
    for key in ["median_ms", "mean_ms", "p95_ms", "min_ms", "max_ms", "final_loss"] {
        assert!(report[key].as_f64().is_some_and(f64::is_finite), "{key} in {report}");
    }
    assert_eq!(report["n"], 5);
    assert_eq!(report["model"], "tiny");
    assert_eq!(report["mode"], "session");
    assert_eq!(report["batch"], 8);
    assert_eq!(report["threads"], 1);
    assert!(report["min_ms"].as_f64() <= report["median_ms"].as_f64());
    assert!(report["median_ms"].as_f64() <= report["max_ms"].as_f64());
}

#[test]
fn monitored_modes_run_under_monitored_training_session() {
    for (mode, checkpoints) in
        [("monitored", Some(2)), ("monitored-nockpt", None), ("monitored-nohooks", None)]
    {
        let out = run(&["bench", "--model", "tiny", "--mode", mode, "--steps", "3", "--warmup", "1"]);
        assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
        let report = crate::report_of(&out.stdout);
        assert_eq!(report["n"], 3, "{report}");
        assert_eq!(report["mode"], mode);
        assert!(report["final_loss"].as_f64().is_some_and(f64::is_finite), "{report}");
        let written = report["checkpoints_written"].as_array().unwrap();
        // CheckpointSaverHook saves after session creation (step 0) and at the end (step 4).
        assert_eq!(checkpoints.unwrap_or(0), written.len(), "{report}");
    }
}

#[test]
fn the_cnn_is_tf1_bench_cnn() {
    let out = run(&["bench", "--model", "cnn", "--steps", "1", "--warmup", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = crate::report_of(&out.stdout);
    assert_eq!(report["batch"], 64);
    assert!(report["final_loss"].as_f64().is_some_and(f64::is_finite), "{report}");
    assert_usage_error(&run(&["bench", "--mode", "distributed"]));
}
