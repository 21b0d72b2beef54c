//! `events --runs --json` against what TensorBoard itself shows for the same log directory
//! (`../shared/oracle/read_events.py`), restarts included.

use crate::events::write_file;
use crate::{run, train};
use ferroflow_proto::SessionLog;
use ferroflow_summary::scalar;
use serde_json::Value;

#[test]
fn scalars_match_tensorboards_view() {
    let Some(py) = ferroflow_oracle::python("scalars_match_tensorboards_view").unwrap() else { return };
    let logdir = tempfile::tempdir().unwrap();
    write_file(logdir.path(), "events.out.tfevents.0000000001.host.1.0", |w| {
        w.add_session_log(&SessionLog::start(), 0).unwrap();
        for step in 0..10 {
            w.add_summary(&scalar("loss", 1.0 / (step + 1) as f32), step).unwrap();
        }
    });
    write_file(logdir.path(), "events.out.tfevents.0000000002.host.2.0", |w| {
        w.add_session_log(&SessionLog::start(), 4).unwrap();
        w.add_summary(&scalar("loss", 0.1), 4).unwrap();
    });
    // A real run, resumed once, as a second run.
    let trained = logdir.path().join("digits");
    train(&trained, 12, &["--save-summaries-steps", "2", "--log-step-count-steps", "5"]);
    train(&trained, 20, &["--save-summaries-steps", "2", "--log-step-count-steps", "5"]);

    let d = logdir.path().display().to_string();
    let out = run(&["events", &d, "--runs", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
    let script = ferroflow_oracle::shared_oracle_dir().join("read_events.py");
    let theirs: Value =
        serde_json::from_str(&ferroflow_oracle::run(&py, &[&script.display().to_string(), &d]).unwrap())
            .unwrap();

    let their_runs = theirs["runs"].as_object().unwrap();
    let our_runs = ours.as_object().unwrap();
    assert_eq!(our_runs.keys().collect::<Vec<_>>(), their_runs.keys().collect::<Vec<_>>());
    for (run_name, their_run) in their_runs {
        let their_tags = their_run["scalars"].as_object().unwrap();
        let our_tags = our_runs[run_name].as_object().unwrap();
        assert_eq!(
            our_tags.keys().collect::<Vec<_>>(),
            their_tags.keys().collect::<Vec<_>>(),
            "run {run_name}"
        );
        for (tag, points) in their_tags {
            let theirs: Vec<(i64, f64)> = points
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["step"].as_i64().unwrap(), p["value"].as_f64().unwrap()))
                .collect();
            let ours: Vec<(i64, f64)> = our_tags[tag]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
                .collect();
            assert_eq!(ours.len(), theirs.len(), "{run_name}/{tag}: {ours:?} vs {theirs:?}");
            for ((s1, v1), (s2, v2)) in ours.iter().zip(&theirs) {
                assert_eq!(s1, s2, "{run_name}/{tag}");
                assert!(
                    (v1 - v2).abs() <= 1e-6 * v2.abs().max(1.0),
                    "{run_name}/{tag} step {s1}: {v1} vs {v2}"
                );
            }
        }
    }
}
