//! `Dataset.skip`: all but the first elements.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::Result;

/// The input without its first `count` elements (skipped on the first `next`).
///
/// Mirrors `Dataset.skip(count)`.
#[derive(Debug)]
pub struct SkipDataset {
    input: DatasetRef,
    count: u64,
}

impl SkipDataset {
    /// `input.skip(count)`.
    pub fn new(input: DatasetRef, count: u64) -> SkipDataset {
        SkipDataset { input, count }
    }
}

struct SkipIterator {
    input: Box<dyn DatasetIterator>,
    to_skip: u64,
}

impl Dataset for SkipDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(SkipIterator { input: self.input.make_iterator(ctx)?, to_skip: self.count }))
    }
}

impl DatasetIterator for SkipIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        while self.to_skip > 0 {
            if self.input.next()?.is_none() {
                self.to_skip = 0;
                return Ok(None);
            }
            self.to_skip -= 1;
        }
        self.input.next()
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("skip");
        w.u64(self.to_skip);
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("skip")?;
        self.to_skip = r.u64()?;
        self.input.restore(r)
    }
}
