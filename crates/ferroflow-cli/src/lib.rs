//! The `ferroflow` command: train a classifier of the digits embedded in the binary with checkpoints,
//! TensorBoard summaries and resume; inspect checkpoints; print the scalars of event files; benchmark a
//! training step against TensorFlow's `tf1_bench.py`.
//!
//! ```text
//! ferroflow train [--model mlp|cnn|linear] [--data digits|idx:DIR|tfrecord:GLOB] [--steps N] ...  # one JSON line
//! ferroflow inspect-checkpoint PREFIX|DIR [--json] [--values]
//! ferroflow events LOGDIR [--json] [--runs]
//! ferroflow bench --model mlp|cnn|tiny [--mode session|monitored|monitored-nockpt|monitored-nohooks] [--steps N]
//! ```
//!
//! The library holds the commands so that they can be tested without a process; the binary parses the
//! flags and maps a [`CliError`] to one line on stderr and its exit code (2 for bad input).
//!
//! ```
//! use clap::Parser;
//! use ferroflow_cli::{run, Cli};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let cli = Cli::try_parse_from(["ferroflow", "events", &dir.path().display().to_string()])?;
//! let err = run(&cli, &mut std::io::sink(), &mut std::io::sink()).unwrap_err();
//! assert_eq!(err.exit_code, ferroflow_cli::EXIT_USAGE, "no event files there");
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod cli;
mod cli_error;
pub mod events;
pub mod inspect_checkpoint;
pub mod scalar_accumulator;
pub mod tensor_json;
pub mod train;

pub use cli::Cli;
pub use cli_error::{CliError, EXIT_FAILURE, EXIT_USAGE};

use cli::Command;
use std::io::Write;

/// Runs a parsed command line; results go to `out` (stdout), progress and warnings to `err` (stderr).
///
/// # Errors
/// The command's [`CliError`]: print its message as one line and exit with its code.
pub fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    match &cli.command {
        Command::InspectCheckpoint(args) => inspect_checkpoint::run(args, out),
        Command::Events(args) => events::run(args, out, err),
        Command::Train(args) => train::run(args, out, err),
        Command::Bench(args) => bench::run(args, out),
    }
}
