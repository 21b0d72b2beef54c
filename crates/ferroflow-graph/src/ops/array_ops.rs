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

/// The masks of [`GraphBuilder::strided_slice`] (TF's `begin_mask`, `end_mask`, `shrink_axis_mask`): bit
/// `i` refers to axis `i` of the slice specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StridedSliceMasks {
    /// A set bit ignores `begin[i]` and starts at the first (last, for a negative stride) element.
    pub begin_mask: i64,
    /// A set bit ignores `end[i]` and runs to the end (start, for a negative stride).
    pub end_mask: i64,
    /// A set bit takes the single element `begin[i]` and removes the axis.
    pub shrink_axis_mask: i64,
}

/// Where one axis of a strided slice starts, its stride, how many elements it takes, and whether the axis
/// is removed (shrink). Shared by shape inference and the kernels so both agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StridedAxis {
    /// The first index taken.
    pub start: i64,
    /// The step between taken indices (nonzero).
    pub stride: i64,
    /// How many elements are taken.
    pub count: usize,
    /// Whether the axis is removed from the output.
    pub shrink: bool,
}

/// Resolves a strided-slice specification against concrete dimensions, with Python's semantics (negative
/// indices count from the end, out-of-range bounds are clamped). Axes beyond the specification are taken
/// whole.
///
/// # Errors
/// `InvalidArgument` for a zero stride, specification vectors of different lengths or longer than the
/// rank, or a shrunk index out of range.
pub fn strided_slice_axes(
    dims: &[usize],
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
    masks: StridedSliceMasks,
) -> Result<Vec<StridedAxis>> {
    if begin.len() != end.len() || begin.len() != strides.len() || begin.len() > dims.len() {
        return Err(Error::invalid_argument(format!(
            "strided slice: begin {begin:?}, end {end:?} and strides {strides:?} must have one length, at most the rank {}",
            dims.len()
        )));
    }
    let mut axes = Vec::with_capacity(dims.len());
    for (i, &dim) in dims.iter().enumerate() {
        let Some(&s) = strides.get(i) else {
            axes.push(StridedAxis { start: 0, stride: 1, count: dim, shrink: false });
            continue;
        };
        let (b, e) = (begin[i], end[i]);
        let d = dim as i64;
        let bit = 1i64 << i;
        if s == 0 {
            return Err(Error::invalid_argument(format!("strided slice: stride of axis {i} is 0")));
        }
        if masks.shrink_axis_mask & bit != 0 {
            let idx = if b < 0 { b + d } else { b };
            if idx < 0 || idx >= d {
                return Err(Error::invalid_argument(format!(
                    "strided slice: index {b} of axis {i} is out of bounds for size {dim}"
                )));
            }
            axes.push(StridedAxis { start: idx, stride: 1, count: 1, shrink: true });
            continue;
        }
        let (lower, upper) = if s > 0 { (0, d) } else { (-1, d - 1) };
        let canon = |v: i64| (if v < 0 { v + d } else { v }).clamp(lower, upper);
        let start = if masks.begin_mask & bit != 0 {
            if s > 0 {
                lower
            } else {
                upper
            }
        } else {
            canon(b)
        };
        let stop = if masks.end_mask & bit != 0 {
            if s > 0 {
                upper
            } else {
                lower
            }
        } else {
            canon(e)
        };
        let span = if s > 0 { stop - start } else { start - stop };
        let step = s.abs();
        let count = if span <= 0 { 0 } else { ((span + step - 1) / step) as usize };
        axes.push(StridedAxis { start, stride: s, count, shrink: false });
    }
    Ok(axes)
}

/// Normalizes one axis against a rank, TF style (`-rank <= axis < rank`).
fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        None
    } else {
        Some(((axis + r) % r.max(1)) as usize)
    }
}

fn i32_vector(values: &[i64]) -> Tensor {
    Tensor::vector(values.iter().map(|&v| v as i32).collect::<Vec<i32>>())
}

impl GraphBuilder {
    /// An `InvalidArgument` naming the op and the input it was built from.
    pub(crate) fn op_error(&self, op_type: &str, input: Output, message: impl std::fmt::Display) -> Error {
        Error::invalid_argument(format!("{op_type} of '{}': {message}", self.output_name(input)))
    }

    /// An int32 vector constant.
    pub(crate) fn const_i32(&mut self, values: &[i64]) -> Result<Output> {
        self.constant(i32_vector(values))
    }

    /// The values of an int32/int64 constant, if `output` is one.
    pub fn constant_ints(&self, output: Output) -> Option<Vec<i64>> {
        match self.constant_value(output)? {
            Tensor::I32(a) => Some(a.iter().map(|&v| i64::from(v)).collect()),
            Tensor::I64(a) => Some(a.iter().copied().collect()),
            _ => None,
        }
    }

    /// `tf.transpose(x, perm)`; `None` reverses the axes.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input when `perm` is not a permutation of the axes.
    pub fn transpose(&mut self, x: Output, perm: Option<&[usize]>) -> Result<Output> {
        let (dtype, shape) = self.input_info("Transpose", x)?;
        let perm: Vec<usize> = match (perm, shape.rank()) {
            (Some(p), _) => p.to_vec(),
            (None, Some(r)) => (0..r).rev().collect(),
            (None, None) => return Err(self.op_error("Transpose", x, "reversing axes needs a known rank")),
        };
        let mut seen = vec![false; perm.len()];
        for &p in &perm {
            match seen.get_mut(p) {
                Some(s) if !*s => *s = true,
                _ => return Err(self.op_error("Transpose", x, format!("{perm:?} is not a permutation"))),
            }
        }
        let out = match shape.dims() {
            Some(d) if d.len() != perm.len() => {
                return Err(self.op_error(
                    "Transpose",
                    x,
                    format!("perm {perm:?} does not fit shape {shape}"),
                ))
            }
            Some(d) => PartialShape::new(perm.iter().map(|&p| d[p]).collect::<Vec<_>>()),
            None => PartialShape::unknown_dims(perm.len()),
        };
        let p = self.const_i32(&perm.iter().map(|&v| v as i64).collect::<Vec<_>>())?;
        let spec = NodeSpec::new("Transpose", vec![x, p])
            .attr("T", AttrValue::Type(dtype))
            .attr("Tperm", AttrValue::Type(DType::I32))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.expand_dims(x, axis)`: inserts a dimension of size 1 at `axis` (`-rank-1 <= axis <= rank`).
    ///
    /// # Errors
    /// `InvalidArgument` naming the input for an axis out of range.
    pub fn expand_dims(&mut self, x: Output, axis: i64) -> Result<Output> {
        let (dtype, shape) = self.input_info("ExpandDims", x)?;
        let out = match shape.dims() {
            Some(d) => {
                let pos = norm_axis(axis, d.len() + 1).ok_or_else(|| {
                    self.op_error("ExpandDims", x, format!("axis {axis} out of range for {shape}"))
                })?;
                let mut v = d.to_vec();
                v.insert(pos, Some(1));
                PartialShape::new(v)
            }
            None => PartialShape::unknown(),
        };
        let a = self.constant(Tensor::scalar(axis as i32))?;
        let spec =
            NodeSpec::new("ExpandDims", vec![x, a]).attr("T", AttrValue::Type(dtype)).output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.squeeze(x, axis)`: removes the given size-1 dimensions, or every size-1 dimension when `axes`
    /// is empty.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input when a given axis is out of range or not of size 1.
    pub fn squeeze(&mut self, x: Output, axes: &[i64]) -> Result<Output> {
        let (dtype, shape) = self.input_info("Squeeze", x)?;
        let out = match shape.dims() {
            Some(d) => {
                let mut keep = Vec::new();
                let norm: Vec<usize> = axes
                    .iter()
                    .map(|&a| {
                        norm_axis(a, d.len()).ok_or_else(|| {
                            self.op_error("Squeeze", x, format!("axis {a} out of range for {shape}"))
                        })
                    })
                    .collect::<Result<_>>()?;
                for (i, dim) in d.iter().enumerate() {
                    let listed = norm.contains(&i);
                    if listed && dim.is_some_and(|v| v != 1) {
                        return Err(self.op_error(
                            "Squeeze",
                            x,
                            format!("can not squeeze dim[{i}], expected a dimension of 1, got {shape}"),
                        ));
                    }
                    let drop = if axes.is_empty() { *dim == Some(1) } else { listed };
                    if !drop {
                        keep.push(*dim);
                    }
                }
                if axes.is_empty() && d.iter().any(Option::is_none) {
                    PartialShape::unknown()
                } else {
                    PartialShape::new(keep)
                }
            }
            None => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("Squeeze", vec![x])
            .attr("T", AttrValue::Type(dtype))
            .attr("squeeze_dims", AttrValue::Ints(axes.to_vec()))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.concat(values, axis)`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the first input for no values, different dtypes or ranks, an axis out of
    /// range, or other dimensions that differ.
    pub fn concat(&mut self, values: &[Output], axis: i64) -> Result<Output> {
        let first =
            *values.first().ok_or_else(|| Error::invalid_argument("ConcatV2 needs at least one value"))?;
        let (dtype, shape0) = self.input_info("ConcatV2", first)?;
        let mut dims: Option<Vec<Option<usize>>> = shape0.dims().map(<[_]>::to_vec);
        let mut norm = None;
        if let Some(d) = &dims {
            norm = Some(norm_axis(axis, d.len()).ok_or_else(|| {
                self.op_error("ConcatV2", first, format!("axis {axis} out of range for {shape0}"))
            })?);
        }
        for &v in &values[1..] {
            let (dt, s) = self.input_info("ConcatV2", v)?;
            if dt != dtype {
                return Err(self.op_error("ConcatV2", first, format!("values have dtypes {dtype} and {dt}")));
            }
            let (Some(cur), Some(other)) = (dims.as_mut(), s.dims()) else {
                if dims.is_none() {
                    dims = s.dims().map(<[_]>::to_vec);
                    if let Some(d) = &dims {
                        norm = norm_axis(axis, d.len());
                    }
                }
                continue;
            };
            let ax = norm.unwrap_or(0);
            if cur.len() != other.len() {
                return Err(self.op_error("ConcatV2", first, format!("ranks differ: {shape0} and {s}")));
            }
            for (i, (c, o)) in cur.iter_mut().zip(other).enumerate() {
                *c = if i == ax {
                    c.zip(*o).map(|(a, b)| a + b)
                } else {
                    match (*c, *o) {
                        (Some(a), Some(b)) if a != b => {
                            return Err(self.op_error(
                                "ConcatV2",
                                first,
                                format!("dimension {i} differs: {shape0} and {s}"),
                            ))
                        }
                        (a, b) => a.or(b),
                    }
                };
            }
        }
        if values.len() == 1 {
            if let (Some(d), Some(ax)) = (dims.as_mut(), norm) {
                d[ax] = shape0.dim(ax);
            }
        }
        let out = dims.map_or_else(PartialShape::unknown, PartialShape::new);
        let a = self.constant(Tensor::scalar(axis as i32))?;
        let mut inputs = values.to_vec();
        inputs.push(a);
        let spec = NodeSpec::new("ConcatV2", inputs)
            .attr("N", AttrValue::Int(values.len() as i64))
            .attr("T", AttrValue::Type(dtype))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.stack(values, axis)` (TF's `Pack`): joins same-shaped tensors along a new axis.
    ///
    /// # Errors
    /// `InvalidArgument` naming the first input for no values, different dtypes or shapes, or an axis out
    /// of range.
    pub fn stack(&mut self, values: &[Output], axis: i64) -> Result<Output> {
        let first =
            *values.first().ok_or_else(|| Error::invalid_argument("Pack needs at least one value"))?;
        let (dtype, mut shape) = self.input_info("Pack", first)?;
        for &v in &values[1..] {
            let (dt, s) = self.input_info("Pack", v)?;
            if dt != dtype {
                return Err(self.op_error("Pack", first, format!("values have dtypes {dtype} and {dt}")));
            }
            shape = shape.merge(&s).map_err(|e| self.op_error("Pack", first, e))?;
        }
        let out = match shape.dims() {
            Some(d) => {
                let pos = norm_axis(axis, d.len() + 1).ok_or_else(|| {
                    self.op_error("Pack", first, format!("axis {axis} out of range for {shape}"))
                })?;
                let mut v = d.to_vec();
                v.insert(pos, Some(values.len()));
                PartialShape::new(v)
            }
            None => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("Pack", values.to_vec())
            .attr("N", AttrValue::Int(values.len() as i64))
            .attr("T", AttrValue::Type(dtype))
            .attr("axis", AttrValue::Int(axis))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.unstack(x, axis)` (TF's `Unpack`): the slices of `x` along `axis`, which must have a known size.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input when the rank or the size along `axis` is unknown, or the axis
    /// is out of range.
    pub fn unstack(&mut self, x: Output, axis: i64) -> Result<Vec<Output>> {
        let (_, shape) = self.input_info("Unpack", x)?;
        let d = shape.dims().ok_or_else(|| self.op_error("Unpack", x, "needs a known rank"))?.to_vec();
        let pos = norm_axis(axis, d.len())
            .ok_or_else(|| self.op_error("Unpack", x, format!("axis {axis} out of range for {shape}")))?;
        let num =
            d[pos].ok_or_else(|| self.op_error("Unpack", x, format!("size of axis {axis} is unknown")))?;
        self.unstack_n(x, axis, num)
    }

    /// `Unpack` into `num` outputs without requiring the size along `axis` to be known at build time
    /// (the gradient of `stack`).
    pub(crate) fn unstack_n(&mut self, x: Output, axis: i64, num: usize) -> Result<Vec<Output>> {
        let (dtype, shape) = self.input_info("Unpack", x)?;
        let rest = match shape.dims() {
            Some(d) => {
                let pos = norm_axis(axis, d.len()).ok_or_else(|| {
                    self.op_error("Unpack", x, format!("axis {axis} out of range for {shape}"))
                })?;
                let mut rest = d.to_vec();
                rest.remove(pos);
                PartialShape::new(rest)
            }
            None => PartialShape::unknown(),
        };
        let mut spec = NodeSpec::new("Unpack", vec![x])
            .attr("num", AttrValue::Int(num as i64))
            .attr("T", AttrValue::Type(dtype))
            .attr("axis", AttrValue::Int(axis));
        for _ in 0..num {
            spec = spec.output(dtype, rest.clone());
        }
        let op = self.add_node(spec)?;
        Ok((0..num).map(|i| op.output(i)).collect())
    }

    /// `tf.slice(x, begin, size)`: a size of -1 takes everything to the end of that axis.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input when `begin`/`size` do not match the rank or exceed known
    /// dimensions.
    pub fn slice(&mut self, x: Output, begin: &[i64], size: &[i64]) -> Result<Output> {
        let (_, shape) = self.input_info("Slice", x)?;
        if begin.len() != size.len() || shape.rank().is_some_and(|r| r != begin.len()) {
            return Err(self.op_error(
                "Slice",
                x,
                format!("begin {begin:?} and size {size:?} must match {shape}"),
            ));
        }
        for (i, (&b, &s)) in begin.iter().zip(size).enumerate() {
            let bad =
                b < 0 || s < -1 || shape.dim(i).is_some_and(|d| b > d as i64 || (s >= 0 && b + s > d as i64));
            if bad {
                return Err(self.op_error(
                    "Slice",
                    x,
                    format!("begin {begin:?} and size {size:?} are out of bounds for {shape}"),
                ));
            }
        }
        let b = self.const_i32(begin)?;
        let s = self.const_i32(size)?;
        self.slice_dynamic(x, b, s)
    }

    /// `tf.slice` with `begin` and `size` given as int32 tensors.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn slice_dynamic(&mut self, x: Output, begin: Output, size: Output) -> Result<Output> {
        let (dtype, shape) = self.input_info("Slice", x)?;
        let out = match (self.constant_ints(begin), self.constant_ints(size), shape.dims()) {
            (Some(b), Some(s), Some(d)) if b.len() == d.len() && s.len() == d.len() => PartialShape::new(
                s.iter()
                    .zip(&b)
                    .zip(d)
                    .map(
                        |((&s, &b), &d)| {
                            if s >= 0 {
                                Some(s as usize)
                            } else {
                                d.map(|d| d.saturating_sub(b as usize))
                            }
                        },
                    )
                    .collect::<Vec<_>>(),
            ),
            (_, Some(s), _) => PartialShape::new(
                s.iter().map(|&s| if s >= 0 { Some(s as usize) } else { None }).collect::<Vec<_>>(),
            ),
            (_, _, Some(d)) => PartialShape::unknown_dims(d.len()),
            _ => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("Slice", vec![x, begin, size])
            .attr("T", AttrValue::Type(dtype))
            .attr("Index", AttrValue::Type(DType::I32))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `x[begin:end:strides]` (TF's `StridedSlice`) with begin, end and shrink-axis masks.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input for a zero stride, vectors of different lengths or longer than
    /// the rank, or a shrunk index out of range of a known dimension.
    pub fn strided_slice(
        &mut self,
        x: Output,
        begin: &[i64],
        end: &[i64],
        strides: &[i64],
        masks: StridedSliceMasks,
    ) -> Result<Output> {
        let (dtype, shape) = self.input_info("StridedSlice", x)?;
        let out = match shape.dims() {
            Some(d) => {
                // Unknown dimensions are resolved with a placeholder size and reported unknown afterwards.
                let probe: Vec<usize> = d.iter().map(|v| v.unwrap_or(0)).collect();
                let probe_masks = StridedSliceMasks {
                    shrink_axis_mask: masks.shrink_axis_mask
                        & d.iter()
                            .enumerate()
                            .fold(0, |m, (i, v)| if v.is_some() { m | (1 << i) } else { m }),
                    ..masks
                };
                let axes = strided_slice_axes(&probe, begin, end, strides, probe_masks)
                    .map_err(|e| self.op_error("StridedSlice", x, e))?;
                let mut out = Vec::new();
                for (i, a) in axes.iter().enumerate() {
                    let shrink = masks.shrink_axis_mask & (1 << i) != 0 && i < begin.len();
                    if shrink {
                        continue;
                    }
                    out.push(d[i].map(|_| a.count));
                }
                PartialShape::new(out)
            }
            None => PartialShape::unknown(),
        };
        if strides.contains(&0) {
            return Err(self.op_error("StridedSlice", x, "strides must be nonzero"));
        }
        let b = self.const_i32(begin)?;
        let e = self.const_i32(end)?;
        let s = self.const_i32(strides)?;
        let spec = NodeSpec::new("StridedSlice", vec![x, b, e, s])
            .attr("T", AttrValue::Type(dtype))
            .attr("Index", AttrValue::Type(DType::I32))
            .attr("begin_mask", AttrValue::Int(masks.begin_mask))
            .attr("end_mask", AttrValue::Int(masks.end_mask))
            .attr("shrink_axis_mask", AttrValue::Int(masks.shrink_axis_mask))
            .attr("ellipsis_mask", AttrValue::Int(0))
            .attr("new_axis_mask", AttrValue::Int(0))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// TF's `StridedSliceGrad`: scatters `dy` into zeros of shape `shape` where `StridedSlice` with the
    /// same arguments and masks (copied from `like`, a `StridedSlice` node) read.
    pub(crate) fn strided_slice_grad(
        &mut self,
        like: crate::Operation,
        shape: Output,
        dy: Output,
    ) -> Result<Output> {
        let node = self.node(like)?.clone();
        let (dtype, _) = self.input_info("StridedSliceGrad", dy)?;
        let x_shape = self.shape(node.inputs[0])?.clone();
        let mut inputs = vec![shape];
        inputs.extend_from_slice(&node.inputs[1..4]);
        inputs.push(dy);
        let mut spec = NodeSpec::new("StridedSliceGrad", inputs).output(dtype, x_shape);
        spec.attrs = node.attrs;
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.gather(params, indices, axis)`: slices of `params` along `axis` at int32/int64 `indices`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `params` for non-integer indices or an axis out of range.
    pub fn gather(&mut self, params: Output, indices: Output, axis: i64) -> Result<Output> {
        let (dtype, ps) = self.input_info("GatherV2", params)?;
        let (idt, is) = self.input_info("GatherV2", indices)?;
        if !matches!(idt, DType::I32 | DType::I64) {
            return Err(self.op_error(
                "GatherV2",
                params,
                format!("indices must be int32 or int64, got {idt}"),
            ));
        }
        let out = match (ps.dims(), is.dims()) {
            (Some(p), Some(i)) => {
                let ax = norm_axis(axis, p.len()).ok_or_else(|| {
                    self.op_error("GatherV2", params, format!("axis {axis} out of range for {ps}"))
                })?;
                let mut v = p[..ax].to_vec();
                v.extend_from_slice(i);
                v.extend_from_slice(&p[ax + 1..]);
                PartialShape::new(v)
            }
            _ => PartialShape::unknown(),
        };
        let a = self.constant(Tensor::scalar(axis as i32))?;
        let spec = NodeSpec::new("GatherV2", vec![params, indices, a])
            .attr("Tparams", AttrValue::Type(dtype))
            .attr("Tindices", AttrValue::Type(idt))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.math.unsorted_segment_sum(data, segment_ids, num_segments)`: sums the slices of `data` whose
    /// id is the same; negative ids are dropped, as in TF.
    ///
    /// # Errors
    /// `InvalidArgument` naming `data` for non-integer ids.
    pub fn unsorted_segment_sum(
        &mut self,
        data: Output,
        segment_ids: Output,
        num_segments: Output,
    ) -> Result<Output> {
        let (dtype, ds) = self.input_info("UnsortedSegmentSum", data)?;
        let (idt, is) = self.input_info("UnsortedSegmentSum", segment_ids)?;
        if !matches!(idt, DType::I32 | DType::I64) {
            return Err(self.op_error(
                "UnsortedSegmentSum",
                data,
                format!("segment ids must be integers, got {idt}"),
            ));
        }
        let n = self.constant_ints(num_segments).and_then(|v| v.first().map(|&n| n.max(0) as usize));
        let out = match (ds.dims(), is.rank()) {
            (Some(d), Some(r)) if r <= d.len() => {
                let mut v = vec![n];
                v.extend_from_slice(&d[r..]);
                PartialShape::new(v)
            }
            _ => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("UnsortedSegmentSum", vec![data, segment_ids, num_segments])
            .attr("T", AttrValue::Type(dtype))
            .attr("Tindices", AttrValue::Type(idt))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.one_hot(indices, depth, on_value, off_value, dtype)` along a new last axis; indices out of
    /// `[0, depth)` give a row of `off_value`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input for non-integer indices.
    pub fn one_hot(
        &mut self,
        indices: Output,
        depth: usize,
        on_value: f64,
        off_value: f64,
        dtype: DType,
    ) -> Result<Output> {
        let (idt, is) = self.input_info("OneHot", indices)?;
        if !matches!(idt, DType::I32 | DType::I64 | DType::U8) {
            return Err(self.op_error("OneHot", indices, format!("indices must be integers, got {idt}")));
        }
        let out = match is.dims() {
            Some(d) => {
                let mut v = d.to_vec();
                v.push(Some(depth));
                PartialShape::new(v)
            }
            None => PartialShape::unknown(),
        };
        let depth_t = self.constant(Tensor::scalar(depth as i32))?;
        let on = self.constant(Tensor::scalar(on_value).cast(dtype)?)?;
        let off = self.constant(Tensor::scalar(off_value).cast(dtype)?)?;
        let spec = NodeSpec::new("OneHot", vec![indices, depth_t, on, off])
            .attr("T", AttrValue::Type(dtype))
            .attr("TI", AttrValue::Type(idt))
            .attr("axis", AttrValue::Int(-1))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.zeros_like(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn zeros_like(&mut self, x: Output) -> Result<Output> {
        self.unary_same("ZerosLike", x)
    }

    /// `tf.ones_like(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn ones_like(&mut self, x: Output) -> Result<Output> {
        self.unary_same("OnesLike", x)
    }

    /// `tf.size(x)`: the number of elements, an int32 scalar.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn size(&mut self, x: Output) -> Result<Output> {
        self.input_info("Size", x)?;
        let spec = NodeSpec::new("Size", vec![x])
            .attr("out_type", AttrValue::Type(DType::I32))
            .output(DType::I32, PartialShape::scalar());
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.rank(x)`: the number of dimensions, an int32 scalar.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn rank(&mut self, x: Output) -> Result<Output> {
        self.input_info("Rank", x)?;
        let spec = NodeSpec::new("Rank", vec![x]).output(DType::I32, PartialShape::scalar());
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.tile(x, multiples)`: repeats `x` `multiples[i]` times along axis `i`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input when `multiples` does not match the rank.
    pub fn tile(&mut self, x: Output, multiples: &[usize]) -> Result<Output> {
        let (dtype, shape) = self.input_info("Tile", x)?;
        let out = match shape.dims() {
            Some(d) if d.len() != multiples.len() => {
                return Err(self.op_error("Tile", x, format!("multiples {multiples:?} do not match {shape}")))
            }
            Some(d) => {
                PartialShape::new(d.iter().zip(multiples).map(|(d, &m)| d.map(|d| d * m)).collect::<Vec<_>>())
            }
            None => PartialShape::unknown_dims(multiples.len()),
        };
        let m = self.const_i32(&multiples.iter().map(|&v| v as i64).collect::<Vec<_>>())?;
        let spec = NodeSpec::new("Tile", vec![x, m]).attr("T", AttrValue::Type(dtype)).output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.pad(x, paddings)` with zeros: `paddings[i] = (before, after)` for axis `i`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input when `paddings` does not match the rank.
    pub fn pad(&mut self, x: Output, paddings: &[(usize, usize)]) -> Result<Output> {
        let (_, shape) = self.input_info("Pad", x)?;
        if shape.rank().is_some_and(|r| r != paddings.len()) {
            return Err(self.op_error("Pad", x, format!("paddings {paddings:?} do not match {shape}")));
        }
        let flat: Vec<i32> = paddings.iter().flat_map(|&(a, b)| [a as i32, b as i32]).collect();
        let p = self.constant(Tensor::from_vec(&[paddings.len(), 2], flat)?)?;
        self.pad_dynamic(x, p)
    }

    /// `tf.pad` with the paddings given as an int32 `[rank, 2]` tensor.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad handle.
    pub fn pad_dynamic(&mut self, x: Output, paddings: Output) -> Result<Output> {
        let (dtype, shape) = self.input_info("Pad", x)?;
        let out = match (self.constant_ints(paddings), shape.dims()) {
            (Some(p), Some(d)) if p.len() == 2 * d.len() => PartialShape::new(
                d.iter()
                    .enumerate()
                    .map(|(i, d)| d.map(|d| d + (p[2 * i] + p[2 * i + 1]).max(0) as usize))
                    .collect::<Vec<_>>(),
            ),
            (_, Some(d)) => PartialShape::unknown_dims(d.len()),
            _ => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("Pad", vec![x, paddings])
            .attr("T", AttrValue::Type(dtype))
            .attr("Tpaddings", AttrValue::Type(DType::I32))
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// TF's `ConcatOffset(concat_dim, shapes)`: where each of the concatenated inputs starts in the result
    /// (used by the gradient of `concat` when shapes are only known at run time).
    pub(crate) fn concat_offset(&mut self, axis: Output, shapes: &[Output]) -> Result<Vec<Output>> {
        let mut inputs = vec![axis];
        inputs.extend_from_slice(shapes);
        let mut spec = NodeSpec::new("ConcatOffset", inputs).attr("N", AttrValue::Int(shapes.len() as i64));
        for _ in shapes {
            spec = spec.output(DType::I32, PartialShape::new(vec![None]));
        }
        let op = self.add_node(spec)?;
        Ok((0..shapes.len()).map(|i| op.output(i)).collect())
    }

    /// `tf.linalg.matmul` of batches (TF's `BatchMatMulV2` semantics without broadcasting): `[..., M, K]`
    /// times `[..., K, N]` with the same batch dimensions; `adj_x`/`adj_y` transpose the last two axes.
    ///
    /// # Errors
    /// `InvalidArgument` naming `x` for different dtypes, ranks below 2, batch dimensions that differ or
    /// inner dimensions that differ.
    pub fn batch_matmul(&mut self, x: Output, y: Output, adj_x: bool, adj_y: bool) -> Result<Output> {
        let (dx, sx) = self.input_info("BatchMatMul", x)?;
        let (dy, sy) = self.input_info("BatchMatMul", y)?;
        if dx != dy || !dx.is_float() {
            return Err(self.op_error(
                "BatchMatMul",
                x,
                format!("operands must be one float dtype, got {dx} and {dy}"),
            ));
        }
        let out = match (sx.dims(), sy.dims()) {
            (Some(a), Some(b)) => {
                if a.len() < 2 || a.len() != b.len() {
                    return Err(self.op_error(
                        "BatchMatMul",
                        x,
                        format!("shapes {sx} and {sy} must be batches of matrices of one rank"),
                    ));
                }
                let r = a.len();
                let mut batch = Vec::with_capacity(r);
                for i in 0..r - 2 {
                    batch.push(match (a[i], b[i]) {
                        (Some(p), Some(q)) if p != q => {
                            return Err(self.op_error(
                                "BatchMatMul",
                                x,
                                format!("batch dimensions of {sx} and {sy} differ"),
                            ))
                        }
                        (p, q) => p.or(q),
                    });
                }
                let (m, k1) = if adj_x { (a[r - 1], a[r - 2]) } else { (a[r - 2], a[r - 1]) };
                let (k2, n) = if adj_y { (b[r - 1], b[r - 2]) } else { (b[r - 2], b[r - 1]) };
                if let (Some(p), Some(q)) = (k1, k2) {
                    if p != q {
                        return Err(self.op_error(
                            "BatchMatMul",
                            x,
                            format!(
                                "inner dimensions of {sx} and {sy} differ (adj_x={adj_x}, adj_y={adj_y})"
                            ),
                        ));
                    }
                }
                batch.push(m);
                batch.push(n);
                PartialShape::new(batch)
            }
            _ => PartialShape::unknown(),
        };
        let spec = NodeSpec::new("BatchMatMul", vec![x, y])
            .attr("T", AttrValue::Type(dx))
            .attr("adj_x", AttrValue::Bool(adj_x))
            .attr("adj_y", AttrValue::Bool(adj_y))
            .output(dx, out);
        Ok(self.add_node(spec)?.output(0))
    }
}
