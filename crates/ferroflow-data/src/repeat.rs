//! `Dataset.repeat`: the input again and again.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::Result;

/// Iterates the input `count` times (`None`: forever), starting a fresh input iterator per epoch.
///
/// Mirrors `Dataset.repeat(count)` (`count=-1` is `None` here). Each epoch's iterator gets its own
/// [`IteratorContext`], which is how `shuffle` reshuffles per epoch. An empty input repeated forever
/// ends instead of spinning, as in TF.
#[derive(Debug)]
pub struct RepeatDataset {
    input: DatasetRef,
    count: Option<u64>,
}

impl RepeatDataset {
    /// `input.repeat(count)`.
    pub fn new(input: DatasetRef, count: Option<u64>) -> RepeatDataset {
        RepeatDataset { input, count }
    }
}

struct RepeatIterator {
    input: DatasetRef,
    count: Option<u64>,
    ctx: IteratorContext,
    epoch: u64,
    current: Option<Box<dyn DatasetIterator>>,
    produced_this_epoch: bool,
}

impl Dataset for RepeatDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(RepeatIterator {
            input: std::sync::Arc::clone(&self.input),
            count: self.count,
            ctx,
            epoch: 0,
            current: None,
            produced_this_epoch: false,
        }))
    }
}

impl RepeatIterator {
    /// The iterator of the current epoch, started when needed; `None` once `count` epochs are done.
    fn epoch_iterator(&mut self) -> Result<Option<&mut Box<dyn DatasetIterator>>> {
        if self.count.is_some_and(|c| self.epoch >= c) {
            return Ok(None);
        }
        if self.current.is_none() {
            self.produced_this_epoch = false;
            self.current = Some(self.input.make_iterator(self.ctx.child(self.epoch))?);
        }
        Ok(self.current.as_mut())
    }

    /// Ends the current epoch, whose input ran out; false when it produced nothing, since every further
    /// epoch would be empty too.
    fn end_epoch(&mut self) -> bool {
        self.current = None;
        self.epoch += 1;
        self.produced_this_epoch
    }
}

impl DatasetIterator for RepeatIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        loop {
            let Some(it) = self.epoch_iterator()? else { return Ok(None) };
            if let Some(e) = it.next()? {
                self.produced_this_epoch = true;
                return Ok(Some(e));
            }
            if !self.end_epoch() {
                return Ok(None);
            }
        }
    }
    fn next_strings(&mut self, n: usize, out: &mut Vec<Vec<u8>>) -> Result<usize> {
        // `next`'s loop, a run of elements at a time, so a source's fast path is reached through it.
        let mut got = 0;
        while got < n {
            let Some(it) = self.epoch_iterator()? else { break };
            let before = out.len();
            let result = it.next_strings(n - got, out);
            // Elements handed over before an error were produced, as they would have been by `next`.
            if out.len() > before {
                self.produced_this_epoch = true;
            }
            got += result?;
            if got == n || !self.end_epoch() {
                break;
            }
        }
        Ok(got)
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("repeat");
        w.u64(self.epoch);
        w.bool(self.produced_this_epoch);
        w.bool(self.current.is_some());
        match &self.current {
            Some(it) => it.save(w),
            None => Ok(()),
        }
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("repeat")?;
        self.epoch = r.u64()?;
        self.produced_this_epoch = r.bool()?;
        self.current = if r.bool()? {
            let mut it = self.input.make_iterator(self.ctx.child(self.epoch))?;
            it.restore(r)?;
            Some(it)
        } else {
            None
        };
        Ok(())
    }
}
