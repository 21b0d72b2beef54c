//! The input pipeline of ferroflow: TF1's `tf.data` datasets (sources, transformations), iterators as
//! graph ops whose end of input is `OutOfRange`, and iterator state that can be saved and restored.
//!
//! ```
//! use ferroflow_core::Tensor;
//! use ferroflow_data::{from_tensor_slices, make_one_shot_iterator, DatasetExt};
//! use ferroflow_graph::GraphBuilder;
//! use ferroflow_session::{DirectSession, SessionExt};
//!
//! let ds = from_tensor_slices(vec![Tensor::vector((0..10i64).collect())])?
//!     .filter(|e| Ok(e[0].scalar_value::<i64>()? % 2 == 0))
//!     .batch(2, false)?;
//! let mut g = GraphBuilder::new();
//! let it = make_one_shot_iterator(&mut g, &ds)?;
//! let next = it.get_next(&mut g)?;
//! let mut sess = DirectSession::new(g.finalize());
//! assert_eq!(sess.run(next[0], &[])?.tensor()?.to_vec::<i64>()?, vec![0, 2]);
//! assert_eq!(sess.run(next[0], &[])?.tensor()?.to_vec::<i64>()?, vec![4, 6]);
//! assert_eq!(sess.run(next[0], &[])?.tensor()?.to_vec::<i64>()?, vec![8]);
//! let end = sess.run(next[0], &[]).unwrap_err();
//! assert!(end.is_end_of_input(), "{end}");
//! # Ok::<(), ferroflow_core::Error>(())
//! ```
//!
//! Pieces:
//! - sources: [`from_tensors`], [`from_tensor_slices`], [`range`], [`TFRecordDataset`],
//!   [`TextLineDataset`], [`CsvDataset`], [`IdxDataset`]; [`parse_example_dataset`] for
//!   `tf.train.Example`s with [`FixedLenFeature`]s;
//! - transformations on [`DatasetRef`] through [`DatasetExt`]: `map`, `filter`, `shuffle`, `batch`,
//!   `padded_batch`, `repeat`, `take`, `skip`, `shard`, `concatenate`, `prefetch`, `interleave`,
//!   `ignore_errors`, and [`zip`];
//! - iterator ops: [`make_one_shot_iterator`], [`make_initializable_iterator`], [`Iterator::get_next`];
//! - state: [`Iterator::save_state`] / [`Iterator::restore_state`] and the `SerializeIterator` /
//!   `DeserializeIterator` ops ([`Iterator::serialize`], [`Iterator::deserialize`]);
//! - checkpoints: [`Iterator::saveable`] puts the iterator in the `saveable_objects` collection, so
//!   the default `Saver` of `ferroflow-train` saves and restores its position with the variables
//!   (opt-in, as TF1's `make_saveable_from_iterator`).
//!
//! Differences from TF1's `tf.data`:
//! - elements are flat lists of tensors (no nested dicts or tuples); `map` and `interleave` take the
//!   output [`ElementSpec`] explicitly, since a Rust closure cannot be traced;
//! - everything runs on the caller's thread except `prefetch`, which owns one producer thread; there
//!   is no `num_parallel_calls` or `AUTOTUNE`. In a session the producer is also handed to the
//!   session's background threads, so a `MonitoredSession` registers it with its `Coordinator` as TF1
//!   does with queue-runner threads: a stop request stops it, its errors reach the coordinator (except
//!   below `ignore_errors`), and closing the session joins it;
//! - `shuffle` uses its own generator, so orders differ from TF's for the same seed (but are
//!   deterministic and survive save/restore);
//! - iterator state can be saved and restored, which TF1 could not do.
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![deny(unused_must_use)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod batch;
pub mod batch_util;
mod concatenate;
mod csv_dataset;
mod dataset;
mod element_spec;
mod filter;
mod from_tensor_slices;
mod from_tensors;
mod idx_dataset;
mod ignore_errors;
mod input_buffer;
mod interleave;
mod iterator;
mod iterator_ops;
mod iterator_state;
mod map;
mod padded_batch;
mod parse_example;
mod prefetch;
mod range;
mod repeat;
mod shard;
mod shuffle;
mod skip;
mod take;
mod text_line_dataset;
mod tfrecord_dataset;
mod zip;

pub use batch::BatchDataset;
pub use concatenate::ConcatenateDataset;
pub use csv_dataset::CsvDataset;
pub use dataset::{zip, Dataset, DatasetExt, DatasetFn, DatasetRef, IteratorContext, MapFn, PredicateFn};
pub use element_spec::ElementSpec;
pub use ferroflow_record::Compression;
pub use filter::FilterDataset;
pub use from_tensor_slices::{from_tensor_slices, TensorSliceDataset};
pub use from_tensors::{from_tensors, TensorDataset};
pub use idx_dataset::{encode_idx, IdxDataset};
pub use ignore_errors::IgnoreErrorsDataset;
pub use interleave::InterleaveDataset;
pub use iterator::{DatasetIterator, Element};
pub use iterator_ops::{
    make_initializable_iterator, make_one_shot_iterator, register_kernels, Iterator, IteratorResource,
};
pub use iterator_state::{IteratorState, IteratorStateReader, IteratorStateWriter};
pub use map::MapDataset;
pub use padded_batch::PaddedBatchDataset;
pub use parse_example::{
    parse_example, parse_example_dataset, parse_single_example, FeatureSpec, FixedLenFeature,
};
pub use prefetch::{PrefetchDataset, PrefetchIterator};
pub use range::{range, RangeDataset};
pub use repeat::RepeatDataset;
pub use shard::ShardDataset;
pub use shuffle::ShuffleDataset;
pub use skip::SkipDataset;
pub use take::TakeDataset;
pub use text_line_dataset::TextLineDataset;
pub use tfrecord_dataset::TFRecordDataset;
pub use zip::ZipDataset;
