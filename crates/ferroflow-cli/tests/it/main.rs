#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end tests of the `ferroflow` binary: train, resume, preemption, crash recovery, bad input,
//! inspect-checkpoint and events.

mod bad_input;
mod bench;
mod events;
mod file_data;
mod inspect_checkpoint;
mod preemption;
mod tensorboard_oracle;
mod train_resume;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub(crate) fn ferroflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferroflow"))
}

/// Runs the binary to completion.
pub(crate) fn run(args: &[&str]) -> Output {
    ferroflow().args(args).output().unwrap()
}

/// A fast training configuration (linear model, plain SGD) into `dir`, plus `extra` flags.
pub(crate) fn train_args(dir: &Path, steps: i64, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["train", "--model", "linear", "--optimizer", "sgd", "--batch-size", "16"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--steps".to_string(), steps.to_string()]);
    args.extend(["--checkpoint-dir".to_string(), dir.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Trains and returns the report line, checking that it is the only line on stdout.
pub(crate) fn train(dir: &Path, steps: i64, extra: &[&str]) -> Value {
    let out = ferroflow().args(train_args(dir, steps, extra)).output().unwrap();
    assert!(out.status.success(), "train failed: {}", String::from_utf8_lossy(&out.stderr));
    report_of(&out.stdout)
}

/// The single JSON line of a train run's stdout.
pub(crate) fn report_of(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {text}");
    serde_json::from_str(lines[0]).unwrap()
}

/// The checkpoint prefix a report names.
pub(crate) fn prefix_of(report: &Value, key: &str) -> Option<PathBuf> {
    report[key].as_str().map(PathBuf::from)
}

/// Asserts a usage error: exit code 2, exactly one line on stderr, no panic.
pub(crate) fn assert_usage_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "exit code of a usage error; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&out.stdout));
    stderr
}

/// The names and sizes of a directory's files, to show nothing was changed.
pub(crate) fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
        .collect();
    files.sort();
    files
}

/// The workspace's committed fixtures.
pub(crate) fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}
