//! `tf.data.experimental.ignore_errors()`: drops elements whose production failed.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::Result;

/// Skips elements whose production failed, logging each error at `warn`.
///
/// Mirrors `dataset.apply(tf.data.experimental.ignore_errors())`. Each source moves past what failed
/// (a corrupt or missing file is left for the next one), so this cannot loop on one error.
#[derive(Debug)]
pub struct IgnoreErrorsDataset {
    input: DatasetRef,
}

impl IgnoreErrorsDataset {
    /// `input.ignore_errors()`.
    pub fn new(input: DatasetRef) -> IgnoreErrorsDataset {
        IgnoreErrorsDataset { input }
    }
}

struct IgnoreErrorsIterator {
    input: Box<dyn DatasetIterator>,
}

impl Dataset for IgnoreErrorsDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(IgnoreErrorsIterator {
            input: self.input.make_iterator(IteratorContext { errors_ignored: true, ..ctx })?,
        }))
    }
}

impl DatasetIterator for IgnoreErrorsIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        loop {
            match self.input.next() {
                Ok(e) => return Ok(e),
                Err(err) => tracing::warn!(error = %err, "ignoring an input error"),
            }
        }
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("ignore_errors");
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("ignore_errors")?;
        self.input.restore(r)
    }
}
