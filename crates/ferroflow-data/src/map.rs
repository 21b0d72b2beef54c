//! `Dataset.map`: a Rust function applied to each element.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter, MapFn,
};
use ferroflow_core::Result;
use std::fmt;

/// Applies a function to each element.
///
/// Mirrors `Dataset.map(map_func)`. Differences: the function is a Rust closure, so its output spec is
/// given instead of traced; elements not matching it fail with `InvalidArgument`. The function's own
/// errors surface unchanged (code and message) from `next`, and from `run()` through an iterator op.
pub struct MapDataset {
    input: DatasetRef,
    spec: ElementSpec,
    f: MapFn,
}

impl fmt::Debug for MapDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapDataset").field("input", &self.input).field("spec", &self.spec).finish()
    }
}

impl MapDataset {
    /// `input.map(f)` producing elements of `spec`.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty spec.
    pub fn new(input: DatasetRef, spec: ElementSpec, f: MapFn) -> Result<MapDataset> {
        let spec = ElementSpec::new(spec.dtypes, spec.shapes)?;
        Ok(MapDataset { input, spec, f })
    }
}

struct MapIterator {
    input: Box<dyn DatasetIterator>,
    spec: ElementSpec,
    f: MapFn,
}

impl Dataset for MapDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(MapIterator {
            input: self.input.make_iterator(ctx)?,
            spec: self.spec.clone(),
            f: std::sync::Arc::clone(&self.f),
        }))
    }
}

impl DatasetIterator for MapIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        let Some(e) = self.input.next()? else { return Ok(None) };
        let out = (self.f)(e)?;
        self.spec.check(&out, "map function output")?;
        Ok(Some(out))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("map");
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("map")?;
        self.input.restore(r)
    }
}
