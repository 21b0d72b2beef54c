//! `Dataset.padded_batch`: batches of elements padded to a common shape.

use crate::batch::{batched_spec, pull};
use crate::batch_util::{pad, stack};
use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, PartialShape, Result, Tensor};

/// Batches elements after padding each component to `padded_shapes` (unknown dimensions: the largest
/// in the batch) with `padding_values` (by default zeros and empty strings).
///
/// Mirrors `Dataset.padded_batch(batch_size, padded_shapes, padding_values, drop_remainder)`.
#[derive(Debug)]
pub struct PaddedBatchDataset {
    input: DatasetRef,
    batch_size: usize,
    drop_remainder: bool,
    padded_shapes: Vec<PartialShape>,
    padding_values: Vec<Tensor>,
    spec: ElementSpec,
}

impl PaddedBatchDataset {
    /// `input.padded_batch(...)`; `None` shapes pad every dimension to the batch's largest.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero batch size, a component of unknown rank without a padded shape,
    /// padded shapes or values whose count, rank or dtype does not match, or a padded dimension
    /// smaller than a known input dimension.
    pub fn new(
        input: DatasetRef,
        batch_size: usize,
        padded_shapes: Option<Vec<PartialShape>>,
        padding_values: Option<Vec<Tensor>>,
        drop_remainder: bool,
    ) -> Result<PaddedBatchDataset> {
        if batch_size == 0 {
            return Err(Error::invalid_argument("Batch size must be greater than zero."));
        }
        let in_spec = input.element_spec().clone();
        let padded_shapes = match padded_shapes {
            Some(s) => s,
            None => in_spec
                .shapes
                .iter()
                .map(|s| {
                    s.rank().map(PartialShape::unknown_dims).ok_or_else(|| {
                        Error::invalid_argument(
                            "padded_batch: a component has unknown rank; give padded_shapes",
                        )
                    })
                })
                .collect::<Result<_>>()?,
        };
        if padded_shapes.len() != in_spec.len() {
            return Err(Error::invalid_argument(format!(
                "padded_batch: {} padded shapes for {} components",
                padded_shapes.len(),
                in_spec.len()
            )));
        }
        for (i, (p, s)) in padded_shapes.iter().zip(&in_spec.shapes).enumerate() {
            if let (Some(pd), Some(sd)) = (p.dims(), s.dims()) {
                let too_small = pd.iter().zip(sd).any(|(p, s)| matches!((p, s), (Some(p), Some(s)) if p < s));
                if pd.len() != sd.len() || too_small {
                    return Err(Error::invalid_argument(format!(
                        "padded_batch: padded shape {p} is incompatible with component {i} of shape {s}"
                    )));
                }
            }
        }
        let padding_values = match padding_values {
            Some(v) => v,
            None => in_spec.dtypes.iter().map(|&d| Tensor::zeros(d, &[])).collect(),
        };
        if padding_values.len() != in_spec.len()
            || padding_values.iter().zip(&in_spec.dtypes).any(|(v, &d)| v.dtype() != d || v.rank() != 0)
        {
            return Err(Error::invalid_argument(
                "padded_batch: padding_values must be one scalar per component, of its dtype",
            ));
        }
        let spec = batched_spec(&in_spec, &padded_shapes, batch_size, drop_remainder)?;
        Ok(PaddedBatchDataset { input, batch_size, drop_remainder, padded_shapes, padding_values, spec })
    }
}

struct PaddedBatchIterator {
    input: Box<dyn DatasetIterator>,
    batch_size: usize,
    drop_remainder: bool,
    padded_shapes: Vec<PartialShape>,
    padding_values: Vec<Tensor>,
}

impl Dataset for PaddedBatchDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(PaddedBatchIterator {
            input: self.input.make_iterator(ctx)?,
            batch_size: self.batch_size,
            drop_remainder: self.drop_remainder,
            padded_shapes: self.padded_shapes.clone(),
            padding_values: self.padding_values.clone(),
        }))
    }
}

impl DatasetIterator for PaddedBatchIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        let Some(elements) = pull(self.input.as_mut(), self.batch_size, self.drop_remainder)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(self.padded_shapes.len());
        for (c, (target, value)) in self.padded_shapes.iter().zip(&self.padding_values).enumerate() {
            let column: Vec<&Tensor> = elements.iter().filter_map(|e| e.get(c)).collect();
            let rank = column.first().map_or(0, |t| t.rank());
            let mut shape = vec![0usize; rank];
            for t in &column {
                if t.rank() != rank {
                    return Err(Error::invalid_argument(format!(
                        "padded_batch: component {c} has elements of rank {rank} and {}",
                        t.rank()
                    )));
                }
                for (m, &d) in shape.iter_mut().zip(t.shape()) {
                    *m = (*m).max(d);
                }
            }
            if let Some(dims) = target.dims() {
                for (i, (m, want)) in shape.iter_mut().zip(dims).enumerate() {
                    if let Some(w) = want {
                        if *m > *w {
                            return Err(Error::invalid_argument(format!(
                                "padded_batch: component {c} dimension {i} is {m}, larger than the padded size {w}"
                            )));
                        }
                        *m = *w;
                    }
                }
            }
            let padded = column.iter().map(|t| pad(t, &shape, value)).collect::<Result<Vec<_>>>()?;
            out.push(stack(&padded)?);
        }
        Ok(Some(out))
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("padded_batch");
        self.input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("padded_batch")?;
        self.input.restore(r)
    }
}
