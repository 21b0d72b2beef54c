//! `tf.data.Dataset.zip`: elements made of one element of each input.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, Result};

/// Concatenates the components of one element of each input; ends with the shortest input.
///
/// Mirrors `tf.data.Dataset.zip((a, b, ...))`, with the nested tuple flattened.
#[derive(Debug)]
pub struct ZipDataset {
    inputs: Vec<DatasetRef>,
    spec: ElementSpec,
}

impl ZipDataset {
    /// Zips `inputs`.
    ///
    /// # Errors
    /// `InvalidArgument` for no inputs.
    pub fn new(inputs: Vec<DatasetRef>) -> Result<ZipDataset> {
        if inputs.is_empty() {
            return Err(Error::invalid_argument("zip needs at least one dataset"));
        }
        let spec = ElementSpec::new(
            inputs.iter().flat_map(|d| d.element_spec().dtypes.clone()).collect(),
            inputs.iter().flat_map(|d| d.element_spec().shapes.clone()).collect(),
        )?;
        Ok(ZipDataset { inputs, spec })
    }
}

struct ZipIterator {
    inputs: Vec<Box<dyn DatasetIterator>>,
}

impl Dataset for ZipDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        let inputs = self.inputs.iter().map(|d| d.make_iterator(ctx.clone())).collect::<Result<_>>()?;
        Ok(Box::new(ZipIterator { inputs }))
    }
}

impl DatasetIterator for ZipIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        let mut out = Vec::new();
        for it in &mut self.inputs {
            match it.next()? {
                Some(e) => out.extend(e),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("zip");
        w.u64(self.inputs.len() as u64);
        self.inputs.iter().try_for_each(|it| it.save(w))
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("zip")?;
        if r.usize()? != self.inputs.len() {
            return Err(Error::invalid_argument("iterator state: zip of another number of datasets"));
        }
        self.inputs.iter_mut().try_for_each(|it| it.restore(r))
    }
}
