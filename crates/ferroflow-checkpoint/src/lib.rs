//! TensorFlow V2 checkpoints.

#![forbid(unsafe_code)]

#[cfg(target_endian = "big")]
compile_error!("ferroflow-checkpoint writes tensors from memory as little-endian bytes: big-endian targets are not supported");

mod atomic_file;
mod block;
mod block_builder;
mod bundle_reader;
mod bundle_writer;
mod coding;
mod format;
mod masked_crc;
mod naming;
mod table_builder;
mod table_reader;

pub use bundle_reader::BundleReader;
pub use bundle_writer::BundleWriter;
pub use naming::{data_filename, index_filename, meta_filename};
pub use table_builder::{TableBuilder, TableOptions};
pub use table_reader::Table;
