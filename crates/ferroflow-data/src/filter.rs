//! `Dataset.filter`: keeps the elements a predicate accepts.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter, PredicateFn,
};
use ferroflow_core::Result;
use std::fmt;

/// Keeps the elements for which a predicate returns `true`.
///
/// Mirrors `Dataset.filter(predicate)`; the predicate's errors surface unchanged.
pub struct FilterDataset {
    input: DatasetRef,
    predicate: PredicateFn,
}

impl fmt::Debug for FilterDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterDataset").field("input", &self.input).finish()
    }
}

impl FilterDataset {
    /// `input.filter(predicate)`.
    pub fn new(input: DatasetRef, predicate: PredicateFn) -> FilterDataset {
        FilterDataset { input, predicate }
    }
}

struct FilterIterator {
    input: Box<dyn DatasetIterator>,
    predicate: PredicateFn,
}

impl Dataset for FilterDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(FilterIterator {
            input: self.input.make_iterator(ctx)?,
            predicate: std::sync::Arc::clone(&self.predicate),
        }))
    }
}

impl DatasetIterator for FilterIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        while let Some(e) = self.input.next()? {
            if (self.predicate)(&e)? {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("filter");
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("filter")?;
        self.input.restore(r)
    }
}
