//! Bad input: one line on stderr, exit code 2, no panic, nothing deleted.

use crate::{assert_usage_error, listing, run, train, train_args};

fn train_with(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    crate::ferroflow().args(train_args(dir, 5, extra)).output().unwrap()
}

#[test]
fn bad_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    for args in [
        vec!["train", "--bogus"],
        vec!["train", "--model", "resnet"],
        vec!["train", "--steps", "0"],
        vec!["train", "--steps", "-5"],
        vec!["train", "--steps", "ten"],
        vec!["train", "--optimizer", "lbfgs"],
        vec!["train", "--learning-rate", "0"],
        vec!["train", "--batch-size", "0"],
        vec!["train", "--save-checkpoint-steps", "5", "--save-checkpoint-secs", "5"],
        vec!["train", "--data", "csv:foo"],
        vec!["bench", "--model", "resnet"],
        vec!["frobnicate"],
    ] {
        let mut args = args.clone();
        args.extend(["--checkpoint-dir", &d]);
        let out = run(&args);
        assert_usage_error(&out);
    }
    assert!(listing(dir.path()).is_empty(), "nothing written");
}

#[test]
fn unsupported_masters_and_workers_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert_usage_error(&train_with(dir.path(), &["--master", "grpc://localhost:2222"]));
    let err = assert_usage_error(&train_with(dir.path(), &["--is-chief", "false"]));
    assert!(err.contains("--is-chief"), "{err}");
    assert!(listing(dir.path()).is_empty(), "nothing written");
}

#[test]
fn another_models_checkpoint_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = train(dir.path(), 5, &[]);
    let before = listing(dir.path());
    // Another model: variables missing.
    let out = crate::ferroflow()
        .args(train_args(dir.path(), 10, &[]).iter().map(|a| if a == "linear" { "mlp" } else { a }))
        .output()
        .unwrap();
    let err = assert_usage_error(&out);
    assert!(err.contains("another model"), "{err}");
    // Another optimizer: its slots are missing.
    let out = crate::ferroflow()
        .args(train_args(dir.path(), 10, &[]).iter().map(|a| if a == "sgd" { "momentum" } else { a }))
        .output()
        .unwrap();
    assert_usage_error(&out);
    assert_eq!(listing(dir.path()), before, "nothing changed or deleted");
    assert_eq!(train(dir.path(), 5, &[])["checkpoint"], first["checkpoint"]);

    // Of another shape: the MLP's `logits/weights` is [128, 10], the linear model's [64, 10].
    let mlp_dir = tempfile::tempdir().unwrap();
    let mlp_args = |steps| {
        train_args(mlp_dir.path(), steps, &[]).into_iter().map(|a| {
            if a == "linear" {
                "mlp".to_string()
            } else {
                a
            }
        })
    };
    assert!(crate::ferroflow().args(mlp_args(3)).output().unwrap().status.success());
    let before = listing(mlp_dir.path());
    let err = assert_usage_error(&train_with(mlp_dir.path(), &[]));
    assert!(err.contains("logits/weights") && err.contains("[128,10]"), "{err}");
    assert_eq!(listing(mlp_dir.path()), before, "nothing changed or deleted");
}

#[test]
fn a_file_as_checkpoint_dir_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    assert_usage_error(&train_with(&file, &[]));
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn help_documents_every_flag() {
    let out = run(&["train", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--data",
        "--model",
        "--steps",
        "--batch-size",
        "--epochs",
        "--learning-rate",
        "--optimizer",
        "--seed",
        "--checkpoint-dir",
        "--save-checkpoint-steps",
        "--save-checkpoint-secs",
        "--save-summaries-steps",
        "--log-step-count-steps",
        "--master",
        "--is-chief",
    ] {
        assert!(help.contains(flag), "{flag} missing from train --help:\n{help}");
    }
    for (cmd, flags) in [
        ("inspect-checkpoint", &["--json", "--values"][..]),
        ("events", &["--json", "--runs"][..]),
        ("bench", &["--model", "--mode", "--steps", "--warmup", "--threads"][..]),
    ] {
        let help = String::from_utf8_lossy(&run(&[cmd, "--help"]).stdout).into_owned();
        for flag in flags {
            assert!(help.contains(flag), "{flag} missing from {cmd} --help:\n{help}");
        }
    }
    assert!(run(&["--help"]).status.success());
}
