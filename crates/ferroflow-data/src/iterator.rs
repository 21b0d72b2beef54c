//! The pull-based iterator over a dataset's elements (TF's `IteratorBase`), with save and restore.

use crate::{IteratorStateReader, IteratorStateWriter};
use ferroflow_core::{Result, Tensor};

/// One element: one tensor per component of the dataset's [`ElementSpec`](crate::ElementSpec).
pub type Element = Vec<Tensor>;

/// A stateful cursor over a dataset.
///
/// Lifecycle:
/// 1. [`Dataset::make_iterator`](crate::Dataset::make_iterator) creates it at the first element;
/// 2. [`next`](DatasetIterator::next) returns elements until `Ok(None)`, the end of input (an
///    iterator op turns that into `OutOfRange` "End of sequence");
/// 3. at any point [`save`](DatasetIterator::save) writes its position, and
///    [`restore`](DatasetIterator::restore) on a fresh iterator of the same dataset continues from it.
pub trait DatasetIterator: Send {
    /// The next element, or `None` at the end of input. Calling it again after the end returns `None`.
    ///
    /// # Errors
    /// Whatever producing the element failed with (`DataLoss` for corrupt files, `NotFound` for missing
    /// ones, a map function's error, ...). An error does not end the iterator: the next call goes on.
    fn next(&mut self) -> Result<Option<Element>>;

    /// Writes the iterator's position so that a fresh iterator can continue from it.
    ///
    /// # Errors
    /// `Internal` if the state cannot be captured (a background thread died).
    fn save(&self, writer: &mut IteratorStateWriter) -> Result<()>;

    /// Moves a fresh iterator of the same dataset to a saved position.
    ///
    /// # Errors
    /// `InvalidArgument` when the state belongs to another pipeline or is corrupt; I/O errors of
    /// reopening files.
    fn restore(&mut self, reader: &mut IteratorStateReader<'_>) -> Result<()>;
}
