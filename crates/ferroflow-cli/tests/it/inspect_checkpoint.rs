//! `inspect-checkpoint` on TensorFlow's golden checkpoints and on one we write.

use crate::{assert_usage_error, fixture, run, train};
use serde_json::{json, Value};

fn listing(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn lists_tensorflows_golden_bundle_with_values() {
    let prefix = fixture("ferroflow-checkpoint/tests/fixtures/golden/savev2/tensors");
    let doc = listing(&["inspect-checkpoint", &prefix.display().to_string(), "--json", "--values"]);
    let tensors = doc["tensors"].as_array().unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "bool/matrix",
            "f32/empty",
            "f32/matrix",
            "f32/scalar",
            "f64/vector",
            "global_step",
            "i32/vector",
            "i64/scalar",
            "string/empty",
            "string/scalar",
            "string/vector",
            "u8/matrix"
        ]
    );
    let by_name = |n: &str| tensors.iter().find(|t| t["name"] == n).unwrap().clone();
    assert_eq!(
        by_name("f32/matrix"),
        json!({"name": "f32/matrix", "dtype": "float32", "shape": [2, 3],
               "values": [[0.0, 0.5, -1.5], [3.25, 1024.125, -65536.0]]})
    );
    assert_eq!(by_name("global_step")["values"], 21);
    assert_eq!(by_name("global_step")["shape"], json!([]));
    assert_eq!(by_name("i64/scalar")["values"], i64::MAX);
    assert_eq!(by_name("f64/vector")["values"], json!([1.5, -2.25, 1e300, 5e-324]));
    assert_eq!(by_name("string/vector")["values"][3], "\u{e9}");
    assert_eq!(by_name("u8/matrix")["dtype"], "uint8");
    assert_eq!(by_name("f32/empty")["shape"], json!([0, 3]));
}

#[test]
fn text_listing_is_tfs_debug_string() {
    let prefix = fixture("ferroflow-checkpoint/tests/fixtures/golden/savev2/tensors.index");
    let out = run(&["inspect-checkpoint", &prefix.display().to_string()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("f32/matrix (DT_FLOAT) [2,3]\n"), "{text}");
    assert!(text.contains("global_step (DT_INT64) []\n"), "{text}");
    assert_eq!(text.lines().count(), 12);
}

#[test]
fn a_directory_resolves_through_its_state_file() {
    let dir = fixture("ferroflow-checkpoint/tests/fixtures/golden/saver");
    let doc = listing(&["inspect-checkpoint", &dir.display().to_string(), "--json"]);
    assert!(doc["prefix"].as_str().unwrap().ends_with("model.ckpt-21"), "{doc}");
    assert!(doc["tensors"].as_array().unwrap().iter().all(|t| t.get("values").is_none()));
}

#[test]
fn lists_a_checkpoint_we_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let report = train(dir.path(), 3, &[]);
    let doc = listing(&["inspect-checkpoint", report["checkpoint"].as_str().unwrap(), "--json", "--values"]);
    let tensors = doc["tensors"].as_array().unwrap();
    let weights = tensors.iter().find(|t| t["name"] == "logits/weights").unwrap();
    assert_eq!(weights["dtype"], "float32");
    assert_eq!(weights["shape"], json!([64, 10]));
    assert_eq!(weights["values"].as_array().unwrap().len(), 64);
    let step = tensors.iter().find(|t| t["name"] == "global_step").unwrap();
    assert_eq!(step["values"], 3);
}

#[test]
fn missing_checkpoints_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert_usage_error(&run(&["inspect-checkpoint", &dir.path().display().to_string()]));
    assert_usage_error(&run(&["inspect-checkpoint", &dir.path().join("model.ckpt-1").display().to_string()]));
}
