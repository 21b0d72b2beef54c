//! The pull-based iterator over a dataset's elements (TF's `IteratorBase`), with save and restore.

use crate::{IteratorStateReader, IteratorStateWriter};
use ferroflow_core::{DType, Error, Result, Shape, Tensor};

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

    /// Appends the bytes of up to `n` next elements to `out`, for an iterator whose elements are one
    /// string scalar (serialized records, lines); returns how many it appended, fewer than `n` only at
    /// the end of input.
    ///
    /// `batch` over such a dataset calls this instead of [`next`](DatasetIterator::next): a source
    /// that overrides it hands over each record's bytes without building an element and a scalar
    /// tensor per record (their allocations were about a sixth of a TFRecord -> batch -> parse
    /// pipeline's time), and without stacking them afterwards. The default pulls
    /// elements through `next`. An override must leave the iterator exactly where as many calls of
    /// `next` would, so that saved states do not depend on which of the two was used.
    ///
    /// # Errors
    /// As [`next`](DatasetIterator::next); the elements appended before the error are consumed (the
    /// caller drops them, as `batch` drops the elements it pulled before an error). `InvalidArgument`
    /// for an element that is not one string scalar.
    fn next_strings(&mut self, n: usize, out: &mut Vec<Vec<u8>>) -> Result<usize> {
        append_up_to(n, out, || self.next()?.map(into_string_scalar).transpose())
    }

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

/// Appends what `next` yields to `out` until it has appended `n` or `next` says the input has ended;
/// returns how many it appended.
pub(crate) fn append_up_to(
    n: usize,
    out: &mut Vec<Vec<u8>>,
    mut next: impl FnMut() -> Result<Option<Vec<u8>>>,
) -> Result<usize> {
    let mut got = 0;
    while got < n {
        let Some(bytes) = next()? else { break };
        out.push(bytes);
        got += 1;
    }
    Ok(got)
}

/// The bytes of an element made of one string scalar, moved out when no other tensor shares them.
fn into_string_scalar(element: Element) -> Result<Vec<u8>> {
    let mut components = element.into_iter();
    match (components.next(), components.next()) {
        (Some(t), None) if t.dtype() == DType::String && t.rank() == 0 => {
            let a = t.into_array::<Vec<u8>>()?.into_owned();
            let (raw, offset) = a.into_raw_vec_and_offset();
            raw.into_iter()
                .nth(offset.unwrap_or(0))
                .ok_or_else(|| Error::internal("a string scalar without its element"))
        }
        (Some(t), None) => Err(Error::invalid_argument(format!(
            "expected a string scalar, got a {} tensor of shape {}",
            t.dtype(),
            Shape::from(t.shape())
        ))),
        (None, _) => {
            Err(Error::invalid_argument("expected a string scalar, got an element without components"))
        }
        (Some(_), Some(_)) => Err(Error::invalid_argument(format!(
            "expected an element of one string scalar, got {} components",
            2 + components.len()
        ))),
    }
}
