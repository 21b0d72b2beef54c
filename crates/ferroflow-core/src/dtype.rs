//! Element types of tensors.

use crate::{Error, Result};
use std::fmt;

/// The element type of a tensor. Numbers match TensorFlow's `DataType` enum (`types.proto`), which
/// checkpoints and protos carry on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 32-bit float (`DT_FLOAT`).
    F32,
    /// 64-bit float (`DT_DOUBLE`).
    F64,
    /// 32-bit signed integer (`DT_INT32`).
    I32,
    /// 64-bit signed integer (`DT_INT64`).
    I64,
    /// 8-bit unsigned integer (`DT_UINT8`).
    U8,
    /// Boolean (`DT_BOOL`).
    Bool,
    /// Byte string (`DT_STRING`).
    String,
}

impl DType {
    /// Every dtype.
    pub const ALL: [DType; 7] =
        [DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::Bool, DType::String];

    /// TensorFlow's `DataType` number (`DT_FLOAT` = 1, ...).
    pub fn to_proto(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::F64 => 2,
            DType::I32 => 3,
            DType::U8 => 4,
            DType::String => 7,
            DType::I64 => 9,
            DType::Bool => 10,
        }
    }

    /// The dtype for TensorFlow's `DataType` number; reference types (`DT_FLOAT_REF` = 101, ...) map to
    /// their base type.
    ///
    /// # Errors
    /// `InvalidArgument` for a number ferroflow does not support.
    pub fn from_proto(number: i32) -> Result<DType> {
        let base = if number > 100 { number - 100 } else { number };
        match base {
            1 => Ok(DType::F32),
            2 => Ok(DType::F64),
            3 => Ok(DType::I32),
            4 => Ok(DType::U8),
            7 => Ok(DType::String),
            9 => Ok(DType::I64),
            10 => Ok(DType::Bool),
            _ => Err(Error::invalid_argument(format!("unsupported TensorFlow DataType {number}"))),
        }
    }

    /// Bytes per element, or `None` for strings.
    pub fn size_of(self) -> Option<usize> {
        match self {
            DType::F32 | DType::I32 => Some(4),
            DType::F64 | DType::I64 => Some(8),
            DType::U8 | DType::Bool => Some(1),
            DType::String => None,
        }
    }

    /// Whether values of this dtype are floating point (and so differentiable).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Whether values of this dtype are numbers (floats or integers).
    pub fn is_numeric(self) -> bool {
        !matches!(self, DType::Bool | DType::String)
    }

    /// TensorFlow's Python name (`float32`, `int64`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::Bool => "bool",
            DType::String => "string",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_numbers_round_trip() {
        for dt in DType::ALL {
            assert_eq!(DType::from_proto(dt.to_proto()).ok(), Some(dt));
        }
        assert_eq!(DType::from_proto(101).ok(), Some(DType::F32));
        assert!(DType::from_proto(19).is_err());
    }
}
