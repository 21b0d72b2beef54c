//! `tf.data.Dataset.from_tensors`: one element.

use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{Error, Result, Tensor};

/// A dataset of exactly one element, the given tensors.
///
/// Mirrors `tf.data.Dataset.from_tensors`.
#[derive(Debug)]
pub struct TensorDataset {
    element: Element,
    spec: ElementSpec,
}

impl TensorDataset {
    /// The dataset of one element.
    ///
    /// # Errors
    /// `InvalidArgument` for an element without components.
    pub fn new(element: Element) -> Result<TensorDataset> {
        if element.is_empty() {
            return Err(Error::invalid_argument("from_tensors needs at least one tensor"));
        }
        Ok(TensorDataset { spec: ElementSpec::of(&element), element })
    }
}

struct TensorIterator {
    element: Element,
    done: bool,
}

impl Dataset for TensorDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(TensorIterator { element: self.element.clone(), done: false }))
    }
}

impl DatasetIterator for TensorIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        Ok(Some(self.element.clone()))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("from_tensors");
        w.bool(self.done);
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("from_tensors")?;
        self.done = r.bool()?;
        Ok(())
    }
}

/// `tf.data.Dataset.from_tensors(tensors)`.
///
/// # Errors
/// `InvalidArgument` for an empty list.
pub fn from_tensors(tensors: Vec<Tensor>) -> Result<crate::DatasetRef> {
    Ok(std::sync::Arc::new(TensorDataset::new(tensors)?))
}
