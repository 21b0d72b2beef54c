//! `bench` prints tf1_bench.py's JSON fields; models and modes not built yet are usage errors.

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
fn cnn_and_monitored_modes_are_not_yet_supported() {
    assert!(assert_usage_error(&run(&["bench", "--model", "cnn"])).contains("not yet supported"));
    for mode in ["monitored", "monitored-nockpt", "monitored-nohooks"] {
        assert!(assert_usage_error(&run(&["bench", "--mode", mode])).contains("not yet supported"));
    }
}
