//! Test support for interop checks against the real TensorFlow and TensorBoard packages.
//!
//! Tests call [`python`] to get an interpreter that can `import tensorflow, tensorboard`. Outside CI a
//! missing oracle skips the check with a note on stderr; under `CI=true` it is an error, so a check never
//! skips silently where it matters.
//!
//! ```no_run
//! if let Some(py) = ferroflow_oracle::python("my_interop_test").unwrap() {
//!     let out = ferroflow_oracle::run(&py, &["-c", "import tensorflow as tf; print(tf.__version__)"]).unwrap();
//!     assert!(out.starts_with("2."));
//! }
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().and_then(Path::parent).map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

/// The directory of the shared oracle scripts (`../shared/oracle` beside the workspace).
pub fn shared_oracle_dir() -> PathBuf {
    workspace_root().join("..").join("shared").join("oracle")
}

/// The Python interpreter with TensorFlow and TensorBoard: `$FERROFLOW_PYTHON`, else `.venv/bin/python`
/// in the workspace.
///
/// Returns `Ok(None)` (after a note on stderr naming `test`) when there is none and `CI` is not `true`.
///
/// # Errors
/// A message when the oracle is missing under `CI=true`.
pub fn python(test: &str) -> Result<Option<PathBuf>, String> {
    let candidate = std::env::var_os("FERROFLOW_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv").join("bin").join("python"));
    let works = Command::new(&candidate)
        .args(["-c", "import tensorflow, tensorboard"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if works {
        return Ok(Some(candidate));
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        return Err(format!(
            "{test}: the TensorFlow oracle is missing ({} cannot import tensorflow); run scripts/test.sh",
            candidate.display()
        ));
    }
    eprintln!("{test}: skipped, no TensorFlow oracle at {} (run scripts/test.sh)", candidate.display());
    Ok(None)
}

/// Runs the interpreter with these arguments and returns its stdout.
///
/// # Errors
/// A message with stderr when it fails to start or exits with a failure.
pub fn run(python: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(python)
        .args(args)
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {:?} failed ({}):\n{}",
            python.display(),
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
