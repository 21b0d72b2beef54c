//! Arithmetic, matrix products and reductions (TF's `math_ops.py`).

use crate::ops::shape_fns::{broadcast_shapes, reduced_shape};
use crate::{AttrValue, GraphBuilder, NodeSpec, Output};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};

impl GraphBuilder {
    /// A broadcasting binary op whose inputs share a dtype; `out_dtype` overrides the output dtype
    /// (comparisons give bool).
    pub(crate) fn binary(
        &mut self,
        op_type: &str,
        a: Output,
        b: Output,
        out_dtype: Option<DType>,
    ) -> Result<Output> {
        let (da, sa) = self.input_info(op_type, a)?;
        let (db, sb) = self.input_info(op_type, b)?;
        if da != db {
            return Err(Error::invalid_argument(format!(
                "{op_type}: inputs '{}' and '{}' have dtypes {da} and {db}",
                self.output_name(a),
                self.output_name(b)
            )));
        }
        let shape = broadcast_shapes(&sa, &sb).map_err(|e| {
            e.context(format!("{op_type} of '{}' and '{}'", self.output_name(a), self.output_name(b)))
        })?;
        let spec = NodeSpec::new(op_type, vec![a, b])
            .attr("T", AttrValue::Type(da))
            .output(out_dtype.unwrap_or(da), shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.add(a, b)` with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast.
    pub fn add(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary("Add", a, b, None)
    }

    /// `tf.subtract(a, b)` with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast.
    pub fn sub(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary("Sub", a, b, None)
    }

    /// `tf.multiply(a, b)` with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast.
    pub fn mul(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary("Mul", a, b, None)
    }

    /// `tf.divide(a, b)` with broadcasting (`RealDiv`; integer division truncates).
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast.
    pub fn div(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary("RealDiv", a, b, None)
    }

    /// `tf.negative(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn neg(&mut self, x: Output) -> Result<Output> {
        self.unary_same("Neg", x)
    }

    /// `tf.square(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn square(&mut self, x: Output) -> Result<Output> {
        self.unary_same("Square", x)
    }

    /// `tf.add_n(inputs)`: the sum of same-shaped tensors.
    ///
    /// # Errors
    /// `InvalidArgument` for no inputs or inputs of different dtypes.
    pub fn add_n(&mut self, inputs: &[Output]) -> Result<Output> {
        let first =
            *inputs.first().ok_or_else(|| Error::invalid_argument("AddN needs at least one input"))?;
        if inputs.len() == 1 {
            return Ok(first);
        }
        let (dtype, mut shape) = self.input_info("AddN", first)?;
        for &i in &inputs[1..] {
            let (d, s) = self.input_info("AddN", i)?;
            if d != dtype {
                return Err(Error::invalid_argument(format!("AddN: inputs have dtypes {dtype} and {d}")));
            }
            shape = shape.merge(&s).map_err(|e| e.context("AddN"))?;
        }
        let spec = NodeSpec::new("AddN", inputs.to_vec())
            .attr("N", AttrValue::Int(inputs.len() as i64))
            .attr("T", AttrValue::Type(dtype))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.matmul(a, b, transpose_a, transpose_b)` for matrices.
    ///
    /// # Errors
    /// `InvalidArgument` for non-matrices, different dtypes or inner dimensions that differ.
    pub fn matmul(&mut self, a: Output, b: Output, transpose_a: bool, transpose_b: bool) -> Result<Output> {
        let (da, sa) = self.input_info("MatMul", a)?;
        let (db, sb) = self.input_info("MatMul", b)?;
        let name = || format!("MatMul of '{}' and '{}'", self.output_name(a), self.output_name(b));
        if da != db {
            return Err(Error::invalid_argument(format!("{}: dtypes {da} and {db} differ", name())));
        }
        if sa.rank().is_some_and(|r| r != 2) || sb.rank().is_some_and(|r| r != 2) {
            return Err(Error::invalid_argument(format!(
                "{}: shapes {sa} and {sb} must be matrices",
                name()
            )));
        }
        let (m, ka) = if transpose_a { (sa.dim(1), sa.dim(0)) } else { (sa.dim(0), sa.dim(1)) };
        let (kb, n) = if transpose_b { (sb.dim(1), sb.dim(0)) } else { (sb.dim(0), sb.dim(1)) };
        if let (Some(x), Some(y)) = (ka, kb) {
            if x != y {
                return Err(Error::invalid_argument(format!(
                    "{}: inner dimensions differ, shapes {sa} and {sb} (transpose_a={transpose_a}, transpose_b={transpose_b})",
                    name()
                )));
            }
        }
        let spec = NodeSpec::new("MatMul", vec![a, b])
            .attr("T", AttrValue::Type(da))
            .attr("transpose_a", AttrValue::Bool(transpose_a))
            .attr("transpose_b", AttrValue::Bool(transpose_b))
            .output(da, PartialShape::new(vec![m, n]));
        Ok(self.add_node(spec)?.output(0))
    }

    /// A reduction (`Sum`, `Mean`, `Max`, `Min`, `Prod`) over constant axes (all axes when `None`).
    pub(crate) fn reduction(
        &mut self,
        op_type: &str,
        x: Output,
        axes: Option<&[i64]>,
        keep_dims: bool,
    ) -> Result<Output> {
        let (dtype, shape) = self.input_info(op_type, x)?;
        let axes_vec: Vec<i32> = match axes {
            Some(a) => a.iter().map(|&v| v as i32).collect(),
            None => match shape.rank() {
                Some(r) => (0..r as i32).collect(),
                None => {
                    return Err(Error::invalid_argument(format!(
                        "{op_type} over all axes of '{}' needs a known rank",
                        self.output_name(x)
                    )))
                }
            },
        };
        let out = reduced_shape(&shape, axes, keep_dims)
            .map_err(|e| e.context(format!("{op_type} of '{}'", self.output_name(x))))?;
        let axes_t = self.constant(Tensor::vector(axes_vec))?;
        let spec = NodeSpec::new(op_type, vec![x, axes_t])
            .attr("T", AttrValue::Type(dtype))
            .attr("keep_dims", AttrValue::Bool(keep_dims))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// A reduction over axes given as an int32 tensor computed at run time (used by gradients).
    pub(crate) fn reduction_dynamic(
        &mut self,
        op_type: &str,
        x: Output,
        axes: Output,
        keep_dims: bool,
    ) -> Result<Output> {
        let (dtype, _) = self.input_info(op_type, x)?;
        let spec = NodeSpec::new(op_type, vec![x, axes])
            .attr("T", AttrValue::Type(dtype))
            .attr("keep_dims", AttrValue::Bool(keep_dims))
            .output(dtype, PartialShape::unknown());
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.reduce_sum(x, axis, keepdims)`; `None` reduces every axis.
    ///
    /// # Errors
    /// `InvalidArgument` for an axis out of range.
    pub fn reduce_sum(&mut self, x: Output, axes: Option<&[i64]>, keep_dims: bool) -> Result<Output> {
        self.reduction("Sum", x, axes, keep_dims)
    }

    /// `tf.reduce_mean(x, axis, keepdims)`; `None` reduces every axis.
    ///
    /// # Errors
    /// `InvalidArgument` for an axis out of range.
    pub fn reduce_mean(&mut self, x: Output, axes: Option<&[i64]>, keep_dims: bool) -> Result<Output> {
        self.reduction("Mean", x, axes, keep_dims)
    }

    /// The product of all elements (used for element counts in gradients).
    pub(crate) fn reduce_prod_all(&mut self, x: Output) -> Result<Output> {
        self.reduction("Prod", x, None, false)
    }
}
