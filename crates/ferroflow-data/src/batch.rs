//! `Dataset.batch`: consecutive elements stacked along a new first dimension.

use crate::batch_util::stack_owned;
use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, PartialShape, Result, Tensor};

/// Stacks `batch_size` consecutive elements; the last batch may be smaller unless `drop_remainder`.
///
/// Mirrors `Dataset.batch(batch_size, drop_remainder)`: the batch dimension is static only with
/// `drop_remainder`; elements of different shapes fail with `InvalidArgument`.
#[derive(Debug)]
pub struct BatchDataset {
    input: DatasetRef,
    batch_size: usize,
    drop_remainder: bool,
    spec: ElementSpec,
}

/// The spec of batches of `input`'s elements.
pub(crate) fn batched_spec(
    input: &ElementSpec,
    shapes: &[PartialShape],
    batch_size: usize,
    drop_remainder: bool,
) -> Result<ElementSpec> {
    let batch_dim = drop_remainder.then_some(batch_size);
    let shapes = shapes
        .iter()
        .map(|s| match s.dims() {
            Some(d) => {
                let mut dims = vec![batch_dim];
                dims.extend_from_slice(d);
                PartialShape::new(dims)
            }
            None => PartialShape::unknown(),
        })
        .collect();
    ElementSpec::new(input.dtypes.clone(), shapes)
}

impl BatchDataset {
    /// `input.batch(batch_size, drop_remainder)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero batch size.
    pub fn new(input: DatasetRef, batch_size: usize, drop_remainder: bool) -> Result<BatchDataset> {
        if batch_size == 0 {
            return Err(Error::invalid_argument("Batch size must be greater than zero."));
        }
        let spec =
            batched_spec(input.element_spec(), &input.element_spec().shapes, batch_size, drop_remainder)?;
        Ok(BatchDataset { input, batch_size, drop_remainder, spec })
    }
}

struct BatchIterator {
    input: Box<dyn DatasetIterator>,
    batch_size: usize,
    drop_remainder: bool,
}

/// Pulls up to `n` elements; `None` when there are none.
pub(crate) fn pull(
    input: &mut dyn DatasetIterator,
    n: usize,
    drop_remainder: bool,
) -> Result<Option<Vec<Element>>> {
    let mut elements = Vec::with_capacity(n);
    while elements.len() < n {
        match input.next()? {
            Some(e) => elements.push(e),
            None => break,
        }
    }
    if elements.is_empty() || (drop_remainder && elements.len() < n) {
        return Ok(None);
    }
    Ok(Some(elements))
}

impl Dataset for BatchDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(BatchIterator {
            input: self.input.make_iterator(ctx)?,
            batch_size: self.batch_size,
            drop_remainder: self.drop_remainder,
        }))
    }
}

impl DatasetIterator for BatchIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        let Some(elements) = pull(self.input.as_mut(), self.batch_size, self.drop_remainder)? else {
            return Ok(None);
        };
        let components = elements.first().map_or(0, Vec::len);
        let mut columns: Vec<Vec<Tensor>> =
            (0..components).map(|_| Vec::with_capacity(elements.len())).collect();
        for e in elements {
            for (column, t) in columns.iter_mut().zip(e) {
                column.push(t);
            }
        }
        columns.into_iter().map(stack_owned).collect::<Result<Vec<_>>>().map(Some)
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("batch");
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("batch")?;
        self.input.restore(r)
    }
}
