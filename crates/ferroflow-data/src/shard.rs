//! `Dataset.shard`: one worker's share of the elements.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, Result};

/// Elements `index, index + num_shards, index + 2 * num_shards, ...` of the input.
///
/// Mirrors `Dataset.shard(num_shards, index)`. As in TF, a trailing partial round is dropped only
/// when the input ends before this shard's element: shards may differ in size by one.
#[derive(Debug)]
pub struct ShardDataset {
    input: DatasetRef,
    num_shards: u64,
    index: u64,
}

impl ShardDataset {
    /// `input.shard(num_shards, index)`.
    ///
    /// # Errors
    /// `InvalidArgument` for zero shards or an index not below `num_shards`.
    pub fn new(input: DatasetRef, num_shards: u64, index: u64) -> Result<ShardDataset> {
        if num_shards == 0 {
            return Err(Error::invalid_argument("Number of shards must be greater than zero"));
        }
        if index >= num_shards {
            return Err(Error::invalid_argument(format!(
                "Index must be between 0 and {} (currently index = {index})",
                num_shards - 1
            )));
        }
        Ok(ShardDataset { input, num_shards, index })
    }
}

struct ShardIterator {
    input: Box<dyn DatasetIterator>,
    num_shards: u64,
    index: u64,
    /// Position in the input of the next element to read.
    position: u64,
}

impl Dataset for ShardDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(ShardIterator {
            input: self.input.make_iterator(ctx)?,
            num_shards: self.num_shards,
            index: self.index,
            position: 0,
        }))
    }
}

impl DatasetIterator for ShardIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        loop {
            let Some(e) = self.input.next()? else { return Ok(None) };
            let pos = self.position;
            self.position += 1;
            if pos % self.num_shards == self.index {
                return Ok(Some(e));
            }
        }
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("shard");
        w.u64(self.position);
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("shard")?;
        self.position = r.u64()?;
        self.input.restore(r)
    }
}
