//! Seeded random tensors (TF's `random_ops.py`).

use crate::{AttrValue, GraphBuilder, NodeSpec, Output};
use ferroflow_core::{DType, Error, PartialShape, Result};

impl GraphBuilder {
    fn random_base(
        &mut self,
        op_type: &str,
        shape: &[usize],
        dtype: DType,
        seed: Option<i64>,
    ) -> Result<Output> {
        if !dtype.is_float() {
            return Err(Error::invalid_argument(format!(
                "{op_type}: dtype must be a float type, got {dtype}"
            )));
        }
        let (seed, seed2) = self.random_seeds(seed);
        let spec = NodeSpec::new(op_type, vec![])
            .attr("dtype", AttrValue::Type(dtype))
            .attr("shape", AttrValue::Shape(PartialShape::known(shape)))
            .attr("seed", AttrValue::Int(seed))
            .attr("seed2", AttrValue::Int(seed2))
            .output(dtype, PartialShape::known(shape));
        Ok(self.add_node(spec)?.output(0))
    }

    fn scale_shift(&mut self, x: Output, scale: f64, shift: f64) -> Result<Output> {
        let s = self.scalar_like(x, scale)?;
        let scaled = self.mul(x, s)?;
        let b = self.scalar_like(x, shift)?;
        self.add(scaled, b)
    }

    /// `tf.random_normal(shape, mean, stddev, dtype, seed)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float dtype.
    pub fn random_normal(
        &mut self,
        shape: &[usize],
        dtype: DType,
        mean: f64,
        stddev: f64,
        seed: Option<i64>,
    ) -> Result<Output> {
        let x = self.random_base("RandomStandardNormal", shape, dtype, seed)?;
        self.scale_shift(x, stddev, mean)
    }

    /// `tf.truncated_normal(shape, mean, stddev, dtype, seed)`: values beyond two deviations are redrawn.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float dtype.
    pub fn truncated_normal(
        &mut self,
        shape: &[usize],
        dtype: DType,
        mean: f64,
        stddev: f64,
        seed: Option<i64>,
    ) -> Result<Output> {
        let x = self.random_base("TruncatedNormal", shape, dtype, seed)?;
        self.scale_shift(x, stddev, mean)
    }

    /// `tf.random_uniform(shape, minval, maxval, dtype, seed)`: uniform in `[minval, maxval)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float dtype.
    pub fn random_uniform(
        &mut self,
        shape: &[usize],
        dtype: DType,
        minval: f64,
        maxval: f64,
        seed: Option<i64>,
    ) -> Result<Output> {
        let x = self.random_base("RandomUniform", shape, dtype, seed)?;
        self.scale_shift(x, maxval - minval, minval)
    }
}
