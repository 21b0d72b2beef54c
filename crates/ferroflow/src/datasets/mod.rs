//! Data sets shipped inside the binary.

mod digits;

pub use digits::Digits;
