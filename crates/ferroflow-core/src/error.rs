//! The one error type of ferroflow: a TF status code plus a message.

use crate::Code;
use std::fmt;

/// An error carrying a TensorFlow status [`Code`] and a message naming the node, tensor or file involved.
///
/// Control flow branches on the code: recovery retries [`Code::Aborted`] and [`Code::Unavailable`], a
/// training loop ends cleanly on [`Code::OutOfRange`].
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with ferroflow's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! constructors {
    ($($name:ident => $code:ident),* $(,)?) => {
        $(
            #[doc = concat!("An error with code [`Code::", stringify!($code), "`].")]
            pub fn $name(message: impl Into<String>) -> Self {
                Self::new(Code::$code, message)
            }
        )*
    };
}

impl Error {
    /// An error with this code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }

    constructors! {
        cancelled => Cancelled,
        unknown => Unknown,
        invalid_argument => InvalidArgument,
        deadline_exceeded => DeadlineExceeded,
        not_found => NotFound,
        already_exists => AlreadyExists,
        permission_denied => PermissionDenied,
        resource_exhausted => ResourceExhausted,
        failed_precondition => FailedPrecondition,
        aborted => Aborted,
        out_of_range => OutOfRange,
        unimplemented => Unimplemented,
        internal => Internal,
        unavailable => Unavailable,
        data_loss => DataLoss,
        unauthenticated => Unauthenticated,
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Errors after which TF1 recreates the session (`_PREEMPTION_ERRORS`: `Aborted`, `Unavailable`).
    pub fn is_preemption(&self) -> bool {
        matches!(self.code, Code::Aborted | Code::Unavailable)
    }

    /// End of input (`OutOfRange`), which a monitored session treats as a clean stop.
    pub fn is_end_of_input(&self) -> bool {
        self.code == Code::OutOfRange
    }

    /// Prefixes the message with where it happened: `"restoring model.ckpt-100: ..."`.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// A copy with the same code and message (the source is kept only as text), for errors that must be
    /// reported to several parties, such as a coordinator's stored error.
    pub fn duplicate(&self) -> Self {
        Self::new(self.code, self.message.clone())
    }
}

impl Clone for Error {
    fn clone(&self) -> Self {
        self.duplicate()
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind;
        let code = match err.kind() {
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::PermissionDenied => Code::PermissionDenied,
            ErrorKind::AlreadyExists => Code::AlreadyExists,
            ErrorKind::UnexpectedEof | ErrorKind::InvalidData => Code::DataLoss,
            ErrorKind::InvalidInput => Code::InvalidArgument,
            ErrorKind::TimedOut => Code::DeadlineExceeded,
            ErrorKind::Interrupted => Code::Aborted,
            _ => Code::Unknown,
        };
        Error::new(code, err.to_string()).with_source(err)
    }
}

impl From<ndarray::ShapeError> for Error {
    fn from(err: ndarray::ShapeError) -> Self {
        Error::invalid_argument(err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_context_and_classes() {
        let e = Error::aborted("ps restarted").context("run");
        assert_eq!(e.to_string(), "ABORTED: run: ps restarted");
        assert!(e.is_preemption());
        assert!(Error::unavailable("x").is_preemption());
        assert!(!Error::out_of_range("x").is_preemption());
        assert!(Error::out_of_range("end").is_end_of_input());
    }

    #[test]
    fn io_errors_map_to_codes() {
        let e: Error = std::io::Error::new(std::io::ErrorKind::NotFound, "gone").into();
        assert_eq!(e.code(), Code::NotFound);
        let e: Error = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "short").into();
        assert_eq!(e.code(), Code::DataLoss);
        assert!(std::error::Error::source(&e).is_some());
    }
}
