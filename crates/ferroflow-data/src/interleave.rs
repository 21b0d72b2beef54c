//! `Dataset.interleave`: several inner datasets read in turn (typically one per file).

use crate::{
    Dataset, DatasetFn, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext,
    IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{Error, Result, Tensor};
use std::fmt;
use std::sync::Arc;

/// Maps each input element to a dataset and reads up to `cycle_length` of them in turn,
/// `block_length` consecutive elements at a time; an exhausted one is replaced by the next input
/// element's dataset in the same slot.
///
/// Mirrors `Dataset.interleave(map_func, cycle_length, block_length)` (deterministic order,
/// without `num_parallel_calls`), e.g. `files.interleave(|f| TFRecordDataset(f), 4, 16)`. The output
/// spec is given, as for [`map`](crate::DatasetExt::map); inner datasets must match it.
pub struct InterleaveDataset {
    input: DatasetRef,
    spec: ElementSpec,
    f: DatasetFn,
    cycle_length: usize,
    block_length: usize,
}

impl fmt::Debug for InterleaveDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterleaveDataset")
            .field("input", &self.input)
            .field("cycle_length", &self.cycle_length)
            .field("block_length", &self.block_length)
            .finish()
    }
}

impl InterleaveDataset {
    /// `input.interleave(f, cycle_length, block_length)` producing elements of `spec`.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero cycle or block length or an empty spec.
    pub fn new(
        input: DatasetRef,
        spec: ElementSpec,
        f: DatasetFn,
        cycle_length: usize,
        block_length: usize,
    ) -> Result<InterleaveDataset> {
        if cycle_length == 0 || block_length == 0 {
            return Err(Error::invalid_argument("cycle_length and block_length must be greater than zero"));
        }
        let spec = ElementSpec::new(spec.dtypes, spec.shapes)?;
        Ok(InterleaveDataset { input, spec, f, cycle_length, block_length })
    }
}

struct Slot {
    /// The input element the slot's dataset was made from (kept for save/restore).
    source: Vec<Tensor>,
    /// Its number among the inner datasets opened, which picks its iterator context.
    n: u64,
    iterator: Box<dyn DatasetIterator>,
}

struct InterleaveIterator {
    input: Box<dyn DatasetIterator>,
    f: DatasetFn,
    spec: ElementSpec,
    ctx: IteratorContext,
    slots: Vec<Option<Slot>>,
    cycle_index: usize,
    block_index: usize,
    end_of_input: bool,
    opened: u64,
    block_length: usize,
}

impl Dataset for InterleaveDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(InterleaveIterator {
            input: self.input.make_iterator(ctx.clone())?,
            f: Arc::clone(&self.f),
            spec: self.spec.clone(),
            ctx,
            slots: (0..self.cycle_length).map(|_| None).collect(),
            cycle_index: 0,
            block_index: 0,
            end_of_input: false,
            opened: 0,
            block_length: self.block_length,
        }))
    }
}

impl InterleaveIterator {
    fn open(&self, source: &[Tensor], n: u64) -> Result<Box<dyn DatasetIterator>> {
        let ds = (self.f)(source)?;
        if ds.element_spec().dtypes != self.spec.dtypes {
            return Err(Error::invalid_argument(format!(
                "interleave: inner dataset has dtypes {:?}, expected {:?}",
                ds.element_spec().dtypes,
                self.spec.dtypes
            )));
        }
        ds.make_iterator(self.ctx.child(n))
    }

    fn advance(&mut self) {
        self.block_index = 0;
        self.cycle_index = (self.cycle_index + 1) % self.slots.len();
    }
}

impl DatasetIterator for InterleaveIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        loop {
            let open = self.slots.iter().any(Option::is_some);
            if self.end_of_input && !open {
                return Ok(None);
            }
            let i = self.cycle_index;
            if let Some(slot) = self.slots.get_mut(i).and_then(Option::as_mut) {
                match slot.iterator.next()? {
                    Some(e) => {
                        self.block_index += 1;
                        if self.block_index >= self.block_length {
                            self.advance();
                        }
                        self.spec.check(&e, "interleave")?;
                        return Ok(Some(e));
                    }
                    None => {
                        self.slots[i] = None;
                        self.advance();
                    }
                }
            } else if !self.end_of_input {
                match self.input.next()? {
                    Some(source) => {
                        let n = self.opened;
                        self.opened += 1;
                        let iterator = self.open(&source, n)?;
                        self.slots[i] = Some(Slot { source, n, iterator });
                    }
                    None => self.end_of_input = true,
                }
            } else {
                self.advance();
            }
        }
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("interleave");
        w.u64(self.cycle_index as u64);
        w.u64(self.block_index as u64);
        w.bool(self.end_of_input);
        w.u64(self.opened);
        w.u64(self.slots.len() as u64);
        for slot in &self.slots {
            w.bool(slot.is_some());
            if let Some(s) = slot {
                w.element(&s.source);
                w.u64(s.n);
                s.iterator.save(w)?;
            }
        }
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("interleave")?;
        self.cycle_index = r.usize()?;
        self.block_index = r.usize()?;
        self.end_of_input = r.bool()?;
        self.opened = r.u64()?;
        if r.usize()? != self.slots.len() || self.cycle_index >= self.slots.len() {
            return Err(Error::invalid_argument("iterator state: interleave of another cycle length"));
        }
        for i in 0..self.slots.len() {
            self.slots[i] = if r.bool()? {
                let source = r.element()?;
                let n = r.u64()?;
                let mut iterator = self.open(&source, n)?;
                iterator.restore(r)?;
                Some(Slot { source, n, iterator })
            } else {
                None
            };
        }
        self.input.restore(r)
    }
}
