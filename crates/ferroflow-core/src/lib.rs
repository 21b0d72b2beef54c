//! The shared vocabulary of ferroflow: TF status codes and the one [`Error`] type, [`DType`], [`Shape`]
//! and [`PartialShape`], and [`Tensor`].
//!
//! ```
//! use ferroflow_core::{Code, DType, Error, Tensor};
//!
//! let t = Tensor::from_vec(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0])?;
//! assert_eq!(t.dtype(), DType::F32);
//! assert_eq!(t.to_vec::<f32>()?.iter().sum::<f32>(), 10.0);
//! let err = Tensor::from_vec(&[3], vec![1i32]).unwrap_err();
//! assert_eq!(err.code(), Code::InvalidArgument);
//! # Ok::<(), Error>(())
//! ```

mod code;
mod dtype;
mod error;
mod shape;
mod tensor;

pub use code::Code;
pub use dtype::DType;
pub use error::{Error, Result};
pub use ndarray;
pub use shape::{PartialShape, Shape};
pub use tensor::{Tensor, TensorElement};
