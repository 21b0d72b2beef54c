//! TensorFlow status codes (`error_codes.proto`, numbered as gRPC numbers them).

use std::fmt;

/// A TensorFlow status code. The numbers are those of `error_codes.proto` and gRPC, so a code survives a
/// network hop unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// Not an error; returned on success.
    Ok = 0,
    /// The operation was cancelled, typically by a stop request.
    Cancelled = 1,
    /// An error with no better code.
    Unknown = 2,
    /// The caller gave a bad argument: a bad feed, a bad shape, a bad flag.
    InvalidArgument = 3,
    /// A deadline expired before the operation finished (`RunOptions.timeout_in_ms`).
    DeadlineExceeded = 4,
    /// A node, tensor, file or checkpoint was not found.
    NotFound = 5,
    /// Something the caller tried to create already exists.
    AlreadyExists = 6,
    /// The caller may not do this.
    PermissionDenied = 7,
    /// A resource (memory, disk, quota) ran out.
    ResourceExhausted = 8,
    /// The system is not in a state for this operation: an uninitialized variable, a run after close.
    FailedPrecondition = 9,
    /// The operation was aborted, for example by a preempted peer; the session is recreated and retried.
    Aborted = 10,
    /// Past the end of a range: end of input for an iterator.
    OutOfRange = 11,
    /// The operation is not implemented or not supported.
    Unimplemented = 12,
    /// A broken invariant of ferroflow itself.
    Internal = 13,
    /// A service is unavailable for now (a restarting parameter server); retried by recovery.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption: a bad checksum, a truncated file.
    DataLoss = 15,
    /// The request lacks valid authentication.
    Unauthenticated = 16,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code's number in `error_codes.proto` (and gRPC).
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The code with this number, or `Unknown` for a number TensorFlow does not define.
    pub fn from_number(number: i32) -> Code {
        Code::ALL.get(number as usize).copied().filter(|_| number >= 0).unwrap_or(Code::Unknown)
    }

    /// The code's name as TensorFlow spells it (`INVALID_ARGUMENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_match_grpc() {
        for code in Code::ALL {
            assert_eq!(Code::from_number(code.number()), code);
        }
        assert_eq!(Code::Aborted.number(), 10);
        assert_eq!(Code::DataLoss.number(), 15);
        assert_eq!(Code::from_number(99), Code::Unknown);
        assert_eq!(Code::from_number(-1), Code::Unknown);
    }
}
