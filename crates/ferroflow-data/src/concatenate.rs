//! `Dataset.concatenate`: one dataset after another.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, PartialShape, Result};

/// The elements of `first`, then those of `second`.
///
/// Mirrors `Dataset.concatenate(dataset)`: dtypes must match; each shape is the most specific one
/// compatible with both.
#[derive(Debug)]
pub struct ConcatenateDataset {
    first: DatasetRef,
    second: DatasetRef,
    spec: ElementSpec,
}

/// The most specific shape both shapes are instances of (dimensions that differ become unknown).
fn most_specific_compatible(a: &PartialShape, b: &PartialShape) -> PartialShape {
    match (a.dims(), b.dims()) {
        (Some(x), Some(y)) if x.len() == y.len() => PartialShape::new(
            x.iter().zip(y).map(|(p, q)| if p == q { *p } else { None }).collect::<Vec<_>>(),
        ),
        _ => PartialShape::unknown(),
    }
}

impl ConcatenateDataset {
    /// `first.concatenate(second)`.
    ///
    /// # Errors
    /// `InvalidArgument` when the component counts or dtypes differ.
    pub fn new(first: DatasetRef, second: DatasetRef) -> Result<ConcatenateDataset> {
        let (a, b) = (first.element_spec(), second.element_spec());
        if a.dtypes != b.dtypes {
            return Err(Error::invalid_argument(format!(
                "Incompatible dataset element types to concatenate: {:?} and {:?}",
                a.dtypes, b.dtypes
            )));
        }
        let shapes = a.shapes.iter().zip(&b.shapes).map(|(x, y)| most_specific_compatible(x, y)).collect();
        let spec = ElementSpec::new(a.dtypes.clone(), shapes)?;
        Ok(ConcatenateDataset { first, second, spec })
    }
}

struct ConcatenateIterator {
    second: DatasetRef,
    ctx: IteratorContext,
    in_second: bool,
    current: Box<dyn DatasetIterator>,
}

impl Dataset for ConcatenateDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(ConcatenateIterator {
            second: std::sync::Arc::clone(&self.second),
            ctx: ctx.clone(),
            in_second: false,
            current: self.first.make_iterator(ctx)?,
        }))
    }
}

impl DatasetIterator for ConcatenateIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        if let Some(e) = self.current.next()? {
            return Ok(Some(e));
        }
        if self.in_second {
            return Ok(None);
        }
        self.in_second = true;
        self.current = self.second.make_iterator(self.ctx.clone())?;
        self.current.next()
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("concatenate");
        w.bool(self.in_second);
        self.current.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("concatenate")?;
        if r.bool()? {
            self.in_second = true;
            self.current = self.second.make_iterator(self.ctx.clone())?;
        }
        self.current.restore(r)
    }
}
