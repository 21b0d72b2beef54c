//! `tf.data.Dataset.from_tensor_slices`: the rows of tensors.

use crate::batch_util::slice;
use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{Error, PartialShape, Result, Shape, Tensor};

/// A dataset whose element `i` is row `i` of each given tensor.
///
/// Mirrors `tf.data.Dataset.from_tensor_slices`. Its iterator state is the row index, so restoring is
/// O(1).
#[derive(Debug)]
pub struct TensorSliceDataset {
    tensors: Element,
    rows: usize,
    spec: ElementSpec,
}

impl TensorSliceDataset {
    /// The dataset of the rows of `tensors`.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty list, a scalar, or tensors whose first dimensions differ.
    pub fn new(tensors: Element) -> Result<TensorSliceDataset> {
        let first =
            tensors.first().ok_or_else(|| Error::invalid_argument("from_tensor_slices needs a tensor"))?;
        let rows = *first
            .shape()
            .first()
            .ok_or_else(|| Error::invalid_argument("from_tensor_slices: cannot slice a scalar"))?;
        let mut shapes = Vec::with_capacity(tensors.len());
        for t in &tensors {
            if t.shape().first() != Some(&rows) {
                return Err(Error::invalid_argument(format!(
                    "from_tensor_slices: all tensors must have the same first dimension, got {} and {}",
                    Shape::from(first.shape()),
                    Shape::from(t.shape())
                )));
            }
            shapes.push(PartialShape::known(&t.shape()[1..]));
        }
        let spec = ElementSpec::new(tensors.iter().map(Tensor::dtype).collect(), shapes)?;
        Ok(TensorSliceDataset { tensors, rows, spec })
    }
}

struct TensorSliceIterator {
    tensors: Element,
    rows: usize,
    next: usize,
}

impl Dataset for TensorSliceDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(TensorSliceIterator { tensors: self.tensors.clone(), rows: self.rows, next: 0 }))
    }
}

impl DatasetIterator for TensorSliceIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        if self.next >= self.rows {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        self.tensors.iter().map(|t| slice(t, i)).collect::<Result<Vec<_>>>().map(Some)
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("from_tensor_slices");
        w.u64(self.next as u64);
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("from_tensor_slices")?;
        self.next = r.usize()?.min(self.rows);
        Ok(())
    }
}

/// `tf.data.Dataset.from_tensor_slices(tensors)`.
///
/// # Errors
/// As [`TensorSliceDataset::new`].
pub fn from_tensor_slices(tensors: Vec<Tensor>) -> Result<crate::DatasetRef> {
    Ok(std::sync::Arc::new(TensorSliceDataset::new(tensors)?))
}
