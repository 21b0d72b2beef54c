//! TensorFlow V2 checkpoints in Rust: the tensor bundle (`<prefix>.index` + `<prefix>.data-00000-of-00001`),
//! byte-identical to what TensorFlow writes, the `checkpoint` state file, and TF1 `Saver` retention.
//!
//! ```
//! use ferroflow_checkpoint::{latest_checkpoint, BundleReader, CheckpointManager, CheckpointManagerConfig};
//! use ferroflow_core::{DType, Tensor};
//! # fn main() -> ferroflow_core::Result<()> {
//! # let dir = tempfile::tempdir()?;
//! // Save two variables at step 100, as TF1's Saver names them.
//! let kernel = Tensor::from_vec(&[2, 3], vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0])?;
//! let step = Tensor::scalar(100i64);
//! let mut manager = CheckpointManager::new(dir.path(), CheckpointManagerConfig::default())?;
//! manager.save(Some(100), [("dense/kernel", &kernel), ("global_step", &step)])?;
//!
//! // Find and restore it, as `tf.train.latest_checkpoint` and `tf.train.load_checkpoint` would.
//! let prefix = latest_checkpoint(dir.path())?.expect("saved above");
//! let reader = BundleReader::open(&prefix)?;
//! assert_eq!(reader.list()?.len(), 2);
//! assert_eq!(reader.read("dense/kernel")?, kernel);
//! assert_eq!(reader.read("global_step")?.dtype(), DType::I64);
//! # Ok(())
//! # }
//! ```
//!
//! Layers, bottom up: [`TableBuilder`]/[`Table`] (the LevelDB-style `.index` table), [`BundleWriter`]/
//! [`BundleReader`] (one checkpoint), [`CheckpointState`] (the `checkpoint` file), [`Retention`] (which
//! checkpoints to keep), [`CheckpointManager`] (all of it per save), plus [`verify`],
//! [`latest_valid_checkpoint`] and [`CheckpointDirLock`]. The format is in `spec/formats.md` section 4.
//!
//! For a graph-level saver (TF1's `Saver`):
//! - save: [`CheckpointManager::save`] with the variables as `(name, &Tensor)` pairs (bundle, then the
//!   state file, then retention), or [`BundleWriter`] + [`CheckpointState::write`] + [`Retention`] for a
//!   custom flow;
//! - restore: [`latest_checkpoint`] (or [`latest_valid_checkpoint`] to skip a damaged newest one), then
//!   [`BundleReader::open`] and [`BundleReader::read_many_into`] into the existing variables (or
//!   [`BundleReader::read_many`] for new tensors). A missing variable is `NotFound` naming it.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![deny(unused_must_use)]
#![doc(test(attr(deny(warnings))))]

#[cfg(target_endian = "big")]
compile_error!("ferroflow-checkpoint writes tensors from memory as little-endian bytes: big-endian targets are not supported");

mod atomic_file;
mod block;
mod block_builder;
mod bundle_reader;
mod bundle_writer;
mod checkpoint_dir_lock;
mod checkpoint_manager;
mod checkpoint_path;
mod checkpoint_state;
mod coding;
mod format;
mod masked_crc;
mod naming;
mod retention;
mod table_builder;
mod table_reader;
mod verify;

pub use bundle_reader::BundleReader;
pub use bundle_writer::{BundleWriter, Durability};
pub use checkpoint_dir_lock::{CheckpointDirLock, LOCK_FILENAME};
pub use checkpoint_manager::{CheckpointManager, CheckpointManagerConfig};
pub use checkpoint_path::{
    checkpoint_exists, checkpoint_files, checkpoint_prefix, delete_checkpoint, latest_checkpoint,
    step_of_prefix,
};
pub use checkpoint_state::{CheckpointState, PathStyle, CHECKPOINT_STATE_FILENAME};
pub use naming::{data_filename, index_filename, meta_filename};
pub use retention::{Deletion, Retention, RetentionPolicy};
pub use table_builder::{TableBuilder, TableOptions};
pub use table_reader::Table;
pub use verify::{latest_valid_checkpoint, verify, VerifyReport};
