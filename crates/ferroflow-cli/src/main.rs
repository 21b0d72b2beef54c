//! The `ferroflow` binary: parses the flags and runs the command; a failure is one line on stderr and
//! exit code 2 for bad input (clap's own usage errors included) or 1 otherwise.

use clap::Parser;
use ferroflow_cli::{run, Cli};

fn main() {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    if let Err(error) = run(&cli, &mut stdout.lock(), &mut stderr.lock()) {
        eprintln!("ferroflow: error: {error}");
        std::process::exit(error.exit_code);
    }
}
