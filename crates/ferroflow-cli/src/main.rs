//! The `ferroflow` binary: parses the flags and runs the command. A failure is one line on stderr and exit
//! code 2 for bad input (flag errors included) or 1 otherwise; `--help` and `--version` exit 0.

use clap::error::ErrorKind;
use clap::Parser;
use ferroflow_cli::{run, Cli, EXIT_USAGE};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            // clap's report spans several lines (tip, usage); the promise is one line, so keep its first
            // and point at --help for the rest.
            let rendered = e.render().to_string();
            let first =
                rendered.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("ferroflow: error: {first} (see 'ferroflow --help')");
            std::process::exit(EXIT_USAGE);
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    if let Err(error) = run(&cli, &mut stdout.lock(), &mut stderr.lock()) {
        eprintln!("ferroflow: error: {error}");
        std::process::exit(error.exit_code);
    }
}
