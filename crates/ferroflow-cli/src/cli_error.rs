//! The error a command ends with: a one-line message and the process exit code.

use ferroflow_core::{Code, Error};
use std::fmt;

/// Exit code for bad input: an unknown flag or model, an unreadable path, a checkpoint of another model.
pub const EXIT_USAGE: i32 = 2;

/// Exit code for a failure that is not the user's input (a kernel error, a full disk).
pub const EXIT_FAILURE: i32 = 1;

/// Why a command failed, as one line for stderr, and the exit code that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The process exit code ([`EXIT_USAGE`] or [`EXIT_FAILURE`]).
    pub exit_code: i32,
    /// The message, one line.
    pub message: String,
}

impl CliError {
    /// Bad input from the user: exit code 2.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError { exit_code: EXIT_USAGE, message: one_line(message.into()) }
    }

    /// Any other failure: exit code 1.
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError { exit_code: EXIT_FAILURE, message: one_line(message.into()) }
    }

    /// A ferroflow error met while reading what the user pointed at (a path, a checkpoint, a flag): the
    /// codes that mean "this input is wrong" are usage errors, the rest failures.
    pub fn from_input(error: &Error) -> CliError {
        match error.code() {
            Code::InvalidArgument
            | Code::NotFound
            | Code::PermissionDenied
            | Code::DataLoss
            | Code::FailedPrecondition
            | Code::Unimplemented => CliError::usage(error.to_string()),
            _ => CliError::failure(error.to_string()),
        }
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> CliError {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<Error> for CliError {
    /// Errors of the runtime itself (a kernel, a write) are failures; use [`CliError::from_input`] where
    /// the error is about the user's input.
    fn from(error: Error) -> CliError {
        CliError::failure(error.to_string())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The promise is one line on stderr, so newlines inside a message (a nested error) become "; ".
fn one_line(message: String) -> String {
    if message.contains('\n') {
        message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_codes_are_usage_errors() {
        assert_eq!(CliError::from_input(&Error::not_found("x")).exit_code, EXIT_USAGE);
        assert_eq!(CliError::from_input(&Error::internal("x")).exit_code, EXIT_FAILURE);
        assert_eq!(CliError::usage("a\n b\n").message, "a; b");
    }
}
