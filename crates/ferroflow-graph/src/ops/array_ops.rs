//! Placeholders, constants, identity, shape manipulation (TF's `array_ops.py`).

use crate::{AttrValue, GraphBuilder, NodeSpec, Output};
use ferroflow_core::{DType, Error, PartialShape, Result, Shape, Tensor};

impl GraphBuilder {
    /// `tf.placeholder(dtype, shape, name)`: a value that must be fed; the shape is checked at feed time.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn placeholder(&mut self, dtype: DType, shape: PartialShape, name: &str) -> Result<Output> {
        let spec = NodeSpec::new("Placeholder", vec![])
            .name(Some(name))
            .attr("dtype", AttrValue::Type(dtype))
            .attr("shape", AttrValue::Shape(shape.clone()))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.placeholder_with_default(input, shape, name)`: `input` unless fed.
    ///
    /// # Errors
    /// `InvalidArgument` when `input`'s shape is incompatible with `shape`.
    pub fn placeholder_with_default(
        &mut self,
        input: Output,
        shape: PartialShape,
        name: &str,
    ) -> Result<Output> {
        let (dtype, in_shape) = self.input_info(name, input)?;
        in_shape.merge(&shape).map_err(|e| e.context(format!("node '{name}'")))?;
        let spec = NodeSpec::new("PlaceholderWithDefault", vec![input])
            .name(Some(name))
            .attr("dtype", AttrValue::Type(dtype))
            .attr("shape", AttrValue::Shape(shape.clone()))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.constant(value)`.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn constant(&mut self, value: Tensor) -> Result<Output> {
        self.constant_named(value, "Const")
    }

    /// `tf.constant(value, name=name)`.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn constant_named(&mut self, value: Tensor, name: &str) -> Result<Output> {
        let dtype = value.dtype();
        let shape = PartialShape::known(value.shape());
        let spec = NodeSpec::new("Const", vec![])
            .name(Some(name))
            .attr("dtype", AttrValue::Type(dtype))
            .attr("value", AttrValue::Tensor(value))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// A scalar constant of the dtype of `like` (handy for `x * 2` in any float type).
    ///
    /// # Errors
    /// `InvalidArgument` when `like` is not numeric.
    pub fn scalar_like(&mut self, like: Output, value: f64) -> Result<Output> {
        let dtype = self.dtype(like)?;
        let t = Tensor::scalar(value).cast(dtype)?;
        self.constant(t)
    }

    /// The constant value of an output, when its node is a `Const`.
    pub fn constant_value(&self, output: Output) -> Option<Tensor> {
        let node = self.node(output.op()).ok()?;
        if node.op_type != "Const" {
            return None;
        }
        node.attrs.tensor("value").ok().cloned()
    }

    /// `tf.identity(input)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn identity(&mut self, input: Output) -> Result<Output> {
        self.unary_same("Identity", input)
    }

    /// `tf.identity(input, name=name)`, for giving a tensor a findable name.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn identity_named(&mut self, input: Output, name: &str) -> Result<Output> {
        let (dtype, shape) = self.input_info(name, input)?;
        let spec = NodeSpec::new("Identity", vec![input]).name(Some(name)).output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.stop_gradient(input)`: identity whose gradient is none.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn stop_gradient(&mut self, input: Output) -> Result<Output> {
        self.unary_same("StopGradient", input)
    }

    /// `tf.shape(input)` as int32.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn shape_of(&mut self, input: Output) -> Result<Output> {
        let (_, shape) = self.input_info("Shape", input)?;
        let out = PartialShape::new(vec![shape.rank()]);
        let spec = NodeSpec::new("Shape", vec![input])
            .attr("out_type", AttrValue::Type(DType::I32))
            .output(DType::I32, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.reshape(tensor, shape)` with a constant shape; one dimension may be -1.
    ///
    /// # Errors
    /// `InvalidArgument` when the element counts cannot match or more than one dimension is -1.
    pub fn reshape(&mut self, input: Output, shape: &[i64]) -> Result<Output> {
        if shape.iter().filter(|&&d| d == -1).count() > 1 || shape.iter().any(|&d| d < -1) {
            return Err(Error::invalid_argument(format!("reshape: bad target shape {shape:?}")));
        }
        let dims: Vec<i32> = shape.iter().map(|&d| d as i32).collect();
        let shape_t = self.constant(Tensor::vector(dims))?;
        self.reshape_to(input, shape_t)
    }

    /// `tf.reshape(tensor, shape)` with the shape given as an int32 tensor.
    ///
    /// # Errors
    /// `InvalidArgument` when a constant target shape cannot hold the input's known element count.
    pub fn reshape_to(&mut self, input: Output, shape: Output) -> Result<Output> {
        let (dtype, in_shape) = self.input_info("Reshape", input)?;
        let out_shape = match self.constant_value(shape).and_then(|t| t.to_vec::<i32>().ok()) {
            Some(target) => infer_reshape(&in_shape, &target)?,
            None => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("Reshape", vec![input, shape]).output(dtype, out_shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.fill(dims, value)`: a tensor of the shape given by the int32 vector `dims`, every element
    /// `value` (a scalar).
    ///
    /// # Errors
    /// `InvalidArgument` when `value` is not a scalar or `dims` not an integer vector.
    pub fn fill(&mut self, dims: Output, value: Output) -> Result<Output> {
        let (dims_dtype, dims_shape) = self.input_info("Fill", dims)?;
        let (dtype, value_shape) = self.input_info("Fill", value)?;
        if value_shape.rank().is_some_and(|r| r != 0)
            || dims_dtype != DType::I32
            || dims_shape.rank().is_some_and(|r| r != 1)
        {
            return Err(Error::invalid_argument(format!(
                "Fill: dims must be an int32 vector and value a scalar, got {dims_dtype} {dims_shape} and {value_shape}"
            )));
        }
        let out = match self.constant_value(dims).and_then(|t| t.to_vec::<i32>().ok()) {
            Some(d) => PartialShape::known(&d.iter().map(|&v| v.max(0) as usize).collect::<Vec<_>>()),
            None => dims_shape.dim(0).map_or_else(PartialShape::unknown, PartialShape::unknown_dims),
        };
        let spec =
            NodeSpec::new("Fill", vec![dims, value]).attr("T", AttrValue::Type(dtype)).output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.broadcast_to(x, shape)` with the shape given as an int32 tensor.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn broadcast_to(&mut self, x: Output, shape: Output) -> Result<Output> {
        let (dtype, _) = self.input_info("BroadcastTo", x)?;
        let out = match self.constant_value(shape).and_then(|t| t.to_vec::<i32>().ok()) {
            Some(d) => PartialShape::known(&d.iter().map(|&v| v.max(0) as usize).collect::<Vec<_>>()),
            None => PartialShape::unknown(),
        };
        let spec =
            NodeSpec::new("BroadcastTo", vec![x, shape]).attr("T", AttrValue::Type(dtype)).output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// TF's `BroadcastGradientArgs(s0, s1)`: for two shapes that broadcast together, the axes along which
    /// each operand was broadcast (to sum its gradient over).
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn broadcast_gradient_args(&mut self, s0: Output, s1: Output) -> Result<(Output, Output)> {
        let spec = NodeSpec::new("BroadcastGradientArgs", vec![s0, s1])
            .output(DType::I32, PartialShape::new(vec![None]))
            .output(DType::I32, PartialShape::new(vec![None]));
        let op = self.add_node(spec)?;
        Ok((op.output(0), op.output(1)))
    }

    /// The shape `shape` would have after reducing `axes` with `keep_dims` (TF's `math_ops.reduced_shape`,
    /// as one op): reduced axes become 1.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn reduced_shape_op(&mut self, shape: Output, axes: Output) -> Result<Output> {
        let spec = NodeSpec::new("ReducedShape", vec![shape, axes])
            .output(DType::I32, PartialShape::new(vec![None]));
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.cast(x, dtype)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn cast(&mut self, input: Output, dtype: DType) -> Result<Output> {
        let (src, shape) = self.input_info("Cast", input)?;
        let spec = NodeSpec::new("Cast", vec![input])
            .attr("SrcT", AttrValue::Type(src))
            .attr("DstT", AttrValue::Type(dtype))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// A node with one input and one output of the same dtype and shape.
    pub(crate) fn unary_same(&mut self, op_type: &str, input: Output) -> Result<Output> {
        let (dtype, shape) = self.input_info(op_type, input)?;
        let spec = NodeSpec::new(op_type, vec![input]).output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }
}

fn infer_reshape(input: &PartialShape, target: &[i32]) -> Result<PartialShape> {
    let known_in = input.to_shape().map(|s| s.num_elements());
    let product: usize = target.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    let mut out: Vec<Option<usize>> =
        target.iter().map(|&d| if d < 0 { None } else { Some(d as usize) }).collect();
    match (known_in, target.iter().position(|&d| d == -1)) {
        (Some(n), None) if n != product => {
            return Err(Error::invalid_argument(format!(
                "cannot reshape a tensor with {n} elements to shape {target:?}"
            )))
        }
        (Some(n), Some(i)) => {
            if product == 0 || n % product != 0 {
                return Err(Error::invalid_argument(format!(
                    "cannot reshape a tensor with {n} elements to shape {target:?}"
                )));
            }
            out[i] = Some(n / product);
        }
        _ => {}
    }
    Ok(PartialShape::new(out))
}

/// The full shape of a tensor if fully known at build time.
pub fn static_shape(g: &GraphBuilder, output: Output) -> Option<Shape> {
    g.shape(output).ok().and_then(PartialShape::to_shape)
}
