//! `tf.data.Dataset.range`: int64 scalars.

use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{DType, Error, Result, Tensor};

/// The int64 scalars `start, start + step, ...` before `stop`.
///
/// Mirrors `tf.data.Dataset.range(start, stop, step)`. Its iterator state is the next value.
#[derive(Debug)]
pub struct RangeDataset {
    start: i64,
    stop: i64,
    step: i64,
    spec: ElementSpec,
}

impl RangeDataset {
    /// The range.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero step (TF: "step must be a non-zero integer").
    pub fn new(start: i64, stop: i64, step: i64) -> Result<RangeDataset> {
        if step == 0 {
            return Err(Error::invalid_argument("step must be a non-zero integer"));
        }
        Ok(RangeDataset { start, stop, step, spec: ElementSpec::scalar(DType::I64) })
    }
}

struct RangeIterator {
    next: i64,
    stop: i64,
    step: i64,
}

impl Dataset for RangeDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(RangeIterator { next: self.start, stop: self.stop, step: self.step }))
    }
}

impl DatasetIterator for RangeIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        let more = if self.step > 0 { self.next < self.stop } else { self.next > self.stop };
        if !more {
            return Ok(None);
        }
        let v = self.next;
        // Saturating, so a range ending near i64::MAX stops instead of wrapping around.
        self.next = self.next.saturating_add(self.step);
        if self.next == v {
            self.next = self.stop;
        }
        Ok(Some(vec![Tensor::scalar(v)]))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("range");
        w.i64(self.next);
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("range")?;
        self.next = r.i64()?;
        Ok(())
    }
}

/// `tf.data.Dataset.range(start, stop, step)`.
///
/// # Errors
/// `InvalidArgument` for a zero step.
pub fn range(start: i64, stop: i64, step: i64) -> Result<crate::DatasetRef> {
    Ok(std::sync::Arc::new(RangeDataset::new(start, stop, step)?))
}
