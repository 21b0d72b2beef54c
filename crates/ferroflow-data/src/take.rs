//! `Dataset.take`: the first elements.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::Result;

/// At most `count` elements of the input.
///
/// Mirrors `Dataset.take(count)` (TF's `count=-1`, all elements, is simply not taking).
#[derive(Debug)]
pub struct TakeDataset {
    input: DatasetRef,
    count: u64,
}

impl TakeDataset {
    /// `input.take(count)`.
    pub fn new(input: DatasetRef, count: u64) -> TakeDataset {
        TakeDataset { input, count }
    }
}

struct TakeIterator {
    input: Box<dyn DatasetIterator>,
    left: u64,
}

impl Dataset for TakeDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(TakeIterator { input: self.input.make_iterator(ctx)?, left: self.count }))
    }
}

impl DatasetIterator for TakeIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        if self.left == 0 {
            return Ok(None);
        }
        let e = self.input.next()?;
        match e {
            Some(_) => self.left -= 1,
            None => self.left = 0,
        }
        Ok(e)
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("take");
        w.u64(self.left);
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("take")?;
        self.left = r.u64()?;
        self.input.restore(r)
    }
}
