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
                None => return self.reduction_over_unknown_rank(op_type, x, keep_dims),
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

    /// Every axis of a tensor whose rank is only known at run time: TF reduces over `Range(Rank(x))`; the
    /// same result comes from reducing the flattened tensor, reshaped to all-ones dims for `keep_dims`.
    fn reduction_over_unknown_rank(&mut self, op_type: &str, x: Output, keep_dims: bool) -> Result<Output> {
        let flat = self.reshape(x, &[-1])?;
        let reduced = self.reduction(op_type, flat, Some(&[0]), false)?;
        if !keep_dims {
            return Ok(reduced);
        }
        let rank = self.rank(x)?;
        let dims = self.expand_dims(rank, 0)?;
        let one = self.constant(Tensor::scalar(1i32))?;
        let ones = self.fill(dims, one)?;
        self.reshape_to(reduced, ones)
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

/// Float dtypes, the only ones transcendental functions and gradients accept (as TF registers them).
const FLOATS: &[DType] = &[DType::F32, DType::F64];
/// Signed numeric dtypes (TF registers `Abs`, `Sign`, `Maximum`, ... for these; uint8 has no `Neg`).
const SIGNED: &[DType] = &[DType::F32, DType::F64, DType::I32, DType::I64];
/// Every numeric dtype.
const NUMERIC: &[DType] = &[DType::F32, DType::F64, DType::I32, DType::I64, DType::U8];

fn dtype_list(allowed: &[DType]) -> String {
    allowed.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
}

impl GraphBuilder {
    /// Rejects an input whose dtype the op does not support, naming the op and the tensor (TF's
    /// "Value for attr 'T' of int32 is not in the list of allowed values").
    pub(crate) fn check_dtype(&self, op_type: &str, x: Output, allowed: &[DType]) -> Result<DType> {
        let dtype = self.dtype(x).map_err(|e| e.context(op_type))?;
        if allowed.contains(&dtype) {
            return Ok(dtype);
        }
        Err(Error::invalid_argument(format!(
            "{op_type}: input '{}' has dtype {dtype}, expected one of {}",
            self.output_name(x),
            dtype_list(allowed)
        )))
    }

    /// A same-shaped unary op restricted to some dtypes.
    pub(crate) fn unary_checked(&mut self, op_type: &str, x: Output, allowed: &[DType]) -> Result<Output> {
        self.check_dtype(op_type, x, allowed)?;
        let (dtype, shape) = self.input_info(op_type, x)?;
        let spec = NodeSpec::new(op_type, vec![x]).attr("T", AttrValue::Type(dtype)).output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// A broadcasting binary op restricted to some dtypes.
    pub(crate) fn binary_checked(
        &mut self,
        op_type: &str,
        a: Output,
        b: Output,
        allowed: &[DType],
        out_dtype: Option<DType>,
    ) -> Result<Output> {
        self.check_dtype(op_type, a, allowed)?;
        self.binary(op_type, a, b, out_dtype)
    }

    /// `tf.sqrt(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn sqrt(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Sqrt", x, FLOATS)
    }

    /// `tf.rsqrt(x)`: `1 / sqrt(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn rsqrt(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Rsqrt", x, FLOATS)
    }

    /// `tf.exp(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn exp(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Exp", x, FLOATS)
    }

    /// `tf.log(x)`: the natural logarithm.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn log(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Log", x, FLOATS)
    }

    /// `tf.reciprocal(x)`: `1 / x`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn reciprocal(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Reciprocal", x, FLOATS)
    }

    /// `tf.abs(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for uint8, bool or string input.
    pub fn abs(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Abs", x, SIGNED)
    }

    /// `tf.sign(x)`: -1, 0 or 1 (0 for NaN is not guaranteed; TF gives NaN).
    ///
    /// # Errors
    /// `InvalidArgument` for uint8, bool or string input.
    pub fn sign(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Sign", x, SIGNED)
    }

    /// `tf.sigmoid(x)`: `1 / (1 + exp(-x))`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn sigmoid(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Sigmoid", x, FLOATS)
    }

    /// `tf.tanh(x)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn tanh(&mut self, x: Output) -> Result<Output> {
        self.unary_checked("Tanh", x, FLOATS)
    }

    /// TF's `SqrtGrad(y, dy)` = `dy * 0.5 / y`, `y` being `Sqrt`'s output.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn sqrt_grad(&mut self, y: Output, dy: Output) -> Result<Output> {
        self.binary_checked("SqrtGrad", y, dy, FLOATS, None)
    }

    /// TF's `RsqrtGrad(y, dy)` = `dy * -0.5 * y^3`.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn rsqrt_grad(&mut self, y: Output, dy: Output) -> Result<Output> {
        self.binary_checked("RsqrtGrad", y, dy, FLOATS, None)
    }

    /// TF's `ReciprocalGrad(y, dy)` = `-dy * y^2`.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn reciprocal_grad(&mut self, y: Output, dy: Output) -> Result<Output> {
        self.binary_checked("ReciprocalGrad", y, dy, FLOATS, None)
    }

    /// TF's `SigmoidGrad(y, dy)` = `dy * y * (1 - y)`.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn sigmoid_grad(&mut self, y: Output, dy: Output) -> Result<Output> {
        self.binary_checked("SigmoidGrad", y, dy, FLOATS, None)
    }

    /// TF's `TanhGrad(y, dy)` = `dy * (1 - y^2)`.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn tanh_grad(&mut self, y: Output, dy: Output) -> Result<Output> {
        self.binary_checked("TanhGrad", y, dy, FLOATS, None)
    }

    /// `tf.maximum(a, b)` with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different or non-numeric dtypes, or shapes that do not broadcast.
    pub fn maximum(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("Maximum", a, b, NUMERIC, None)
    }

    /// `tf.minimum(a, b)` with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different or non-numeric dtypes, or shapes that do not broadcast.
    pub fn minimum(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("Minimum", a, b, NUMERIC, None)
    }

    /// `tf.pow(a, b)` with broadcasting. Integer powers with a negative exponent are rejected at run
    /// time, as in TF.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes, uint8/bool/string, or shapes that do not broadcast.
    pub fn pow(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("Pow", a, b, SIGNED, None)
    }

    /// `tf.squared_difference(a, b)`: `(a - b)^2` with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes, uint8/bool/string, or shapes that do not broadcast.
    pub fn squared_difference(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("SquaredDifference", a, b, SIGNED, None)
    }

    /// `tf.equal(a, b)`: element-wise `a == b` as bool, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast.
    pub fn equal(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary("Equal", a, b, Some(DType::Bool))
    }

    /// `tf.not_equal(a, b)`: element-wise `a != b` as bool, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast.
    pub fn not_equal(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary("NotEqual", a, b, Some(DType::Bool))
    }

    /// `tf.less(a, b)`: element-wise `a < b` as bool, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different or non-numeric dtypes, or shapes that do not broadcast.
    pub fn less(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("Less", a, b, NUMERIC, Some(DType::Bool))
    }

    /// `tf.less_equal(a, b)`: element-wise `a <= b` as bool, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different or non-numeric dtypes, or shapes that do not broadcast.
    pub fn less_equal(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("LessEqual", a, b, NUMERIC, Some(DType::Bool))
    }

    /// `tf.greater(a, b)`: element-wise `a > b` as bool, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different or non-numeric dtypes, or shapes that do not broadcast.
    pub fn greater(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("Greater", a, b, NUMERIC, Some(DType::Bool))
    }

    /// `tf.greater_equal(a, b)`: element-wise `a >= b` as bool, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for different or non-numeric dtypes, or shapes that do not broadcast.
    pub fn greater_equal(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("GreaterEqual", a, b, NUMERIC, Some(DType::Bool))
    }

    /// `tf.logical_and(a, b)` for bool tensors, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for non-bool inputs or shapes that do not broadcast.
    pub fn logical_and(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("LogicalAnd", a, b, &[DType::Bool], None)
    }

    /// `tf.logical_or(a, b)` for bool tensors, with broadcasting.
    ///
    /// # Errors
    /// `InvalidArgument` for non-bool inputs or shapes that do not broadcast.
    pub fn logical_or(&mut self, a: Output, b: Output) -> Result<Output> {
        self.binary_checked("LogicalOr", a, b, &[DType::Bool], None)
    }

    /// `tf.logical_not(x)` for a bool tensor.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-bool input.
    pub fn logical_not(&mut self, x: Output) -> Result<Output> {
        self.check_dtype("LogicalNot", x, &[DType::Bool])?;
        self.unary_same("LogicalNot", x)
    }

    /// `tf.compat.v1.where(cond, x, y)` (op `Select`): `x` where `cond` is true, else `y`. `x` and `y`
    /// have one shape; `cond` has that shape too, or is a vector selecting whole rows (its length is
    /// `x`'s first dimension). No broadcasting beyond that, as in TF1.
    ///
    /// # Errors
    /// `InvalidArgument` naming the tensors when `cond` is not bool, `x` and `y` differ in dtype or
    /// shape, or `cond`'s shape fits neither rule.
    pub fn select(&mut self, cond: Output, x: Output, y: Output) -> Result<Output> {
        self.check_dtype("Select", cond, &[DType::Bool])?;
        let (_, sc) = self.input_info("Select", cond)?;
        let (dx, sx) = self.input_info("Select", x)?;
        let (dy, sy) = self.input_info("Select", y)?;
        let names = || {
            format!(
                "Select of '{}', '{}' and '{}'",
                self.output_name(cond),
                self.output_name(x),
                self.output_name(y)
            )
        };
        if dx != dy {
            return Err(Error::invalid_argument(format!("{}: x and y have dtypes {dx} and {dy}", names())));
        }
        let shape = sx.merge(&sy).map_err(|e| e.context(names()))?;
        let rows_ok = match (sc.rank(), shape.rank()) {
            (Some(1), Some(r)) if r > 1 => sc.dim(0).zip(shape.dim(0)).is_none_or(|(a, b)| a == b),
            _ => false,
        };
        if !rows_ok && shape.merge(&sc).is_err() {
            return Err(Error::invalid_argument(format!(
                "{}: cond has shape {sc}, which is neither x's shape {shape} nor a vector of its first dimension",
                names()
            )));
        }
        let spec = NodeSpec::new("Select", vec![cond, x, y]).attr("T", AttrValue::Type(dx)).output(dx, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// A tensor of zeros shaped like `x` (a constant when the shape is known at build time, else a
    /// `Fill` of its run-time shape).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric `x`.
    pub(crate) fn zeros_shaped_like(&mut self, x: Output) -> Result<Output> {
        let dtype = self.dtype(x)?;
        let zero = self.constant(Tensor::scalar(0.0f64).cast(dtype)?)?;
        let dims = match self.shape(x)?.to_shape() {
            Some(s) => self.constant(Tensor::vector(s.dims().iter().map(|&d| d as i32).collect()))?,
            None => self.shape_of(x)?,
        };
        self.fill(dims, zero)
    }

    /// `tf.clip_by_value(t, clip_value_min, clip_value_max)`, composed as TF does:
    /// `maximum(minimum(t, max), min)`, so the gradient flows where `t` is inside the range.
    ///
    /// # Errors
    /// `InvalidArgument` for different dtypes or shapes that do not broadcast to `t`'s.
    pub fn clip_by_value(
        &mut self,
        t: Output,
        clip_value_min: Output,
        clip_value_max: Output,
    ) -> Result<Output> {
        self.with_name_scope("clip_by_value", |g| {
            let lower = g.minimum(t, clip_value_max)?;
            let clipped = g.maximum(lower, clip_value_min)?;
            let (st, sc) = (g.shape(t)?.clone(), g.shape(clipped)?.clone());
            if st.merge(&sc).is_err() {
                return Err(Error::invalid_argument(format!(
                    "clip_by_value of '{}': clip bounds broadcast it from {st} to {sc}",
                    g.output_name(t)
                )));
            }
            Ok(clipped)
        })
    }

    /// `tf.global_norm(t_list)`: `sqrt(sum of squares of every element of every tensor)`; `None` entries
    /// (variables without a gradient) are skipped.
    ///
    /// # Errors
    /// `InvalidArgument` when every entry is `None`, or for non-float or mixed dtypes.
    pub fn global_norm(&mut self, t_list: &[Option<Output>]) -> Result<Output> {
        let present: Vec<Output> = t_list.iter().flatten().copied().collect();
        if present.is_empty() {
            return Err(Error::invalid_argument("global_norm: t_list has no tensors"));
        }
        self.with_name_scope("global_norm", |g| {
            let mut sums = Vec::with_capacity(present.len());
            for &t in &present {
                g.check_dtype("global_norm", t, FLOATS)?;
                let sq = g.square(t)?;
                sums.push(g.reduce_sum(sq, None, false)?);
            }
            let total = g.add_n(&sums)?;
            g.sqrt(total)
        })
    }

    /// `tf.clip_by_global_norm(t_list, clip_norm)`: every tensor scaled by
    /// `clip_norm / max(global_norm, clip_norm)`, and the global norm before clipping. Composed of ops
    /// as in TF (`scale = clip_norm * minimum(1 / global_norm, 1 / clip_norm)`), so a NaN or infinite
    /// norm makes every output NaN, as there. `None` entries stay `None`.
    ///
    /// # Errors
    /// `InvalidArgument` when every entry is `None`, for non-float or mixed dtypes, or a negative
    /// `clip_norm`.
    pub fn clip_by_global_norm(
        &mut self,
        t_list: &[Option<Output>],
        clip_norm: f64,
    ) -> Result<(Vec<Option<Output>>, Output)> {
        if clip_norm.is_nan() || clip_norm < 0.0 {
            return Err(Error::invalid_argument(format!(
                "clip_by_global_norm: clip_norm must be >= 0, got {clip_norm}"
            )));
        }
        let norm = self.global_norm(t_list)?;
        let clipped = self.with_name_scope("clip_by_global_norm", |g| {
            let c = g.scalar_like(norm, clip_norm)?;
            let inv_clip = g.scalar_like(norm, 1.0 / clip_norm)?;
            let inv_norm = g.reciprocal(norm)?;
            let smaller = g.minimum(inv_norm, inv_clip)?;
            let scale = g.mul(c, smaller)?;
            t_list.iter().map(|t| t.map(|t| g.mul(t, scale)).transpose()).collect::<Result<Vec<_>>>()
        })?;
        Ok((clipped, norm))
    }

    /// `tf.reduce_max(x, axis, keepdims)`; `None` reduces every axis.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input or an axis out of range.
    pub fn reduce_max(&mut self, x: Output, axes: Option<&[i64]>, keep_dims: bool) -> Result<Output> {
        self.check_dtype("Max", x, NUMERIC)?;
        self.reduction("Max", x, axes, keep_dims)
    }

    /// `tf.reduce_min(x, axis, keepdims)`; `None` reduces every axis.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input or an axis out of range.
    pub fn reduce_min(&mut self, x: Output, axes: Option<&[i64]>, keep_dims: bool) -> Result<Output> {
        self.check_dtype("Min", x, NUMERIC)?;
        self.reduction("Min", x, axes, keep_dims)
    }

    /// `tf.reduce_prod(x, axis, keepdims)`; `None` reduces every axis.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input or an axis out of range.
    pub fn reduce_prod(&mut self, x: Output, axes: Option<&[i64]>, keep_dims: bool) -> Result<Output> {
        self.check_dtype("Prod", x, NUMERIC)?;
        self.reduction("Prod", x, axes, keep_dims)
    }

    /// The gradient of `Prod`: for each element, `dy` times the product of the other elements of its
    /// reduced group, computed without dividing (so zeros are handled as TF's cumprod formulation does).
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn prod_grad(&mut self, x: Output, axes: Output, dy: Output) -> Result<Output> {
        let (dtype, shape) = self.input_info("ProdGrad", x)?;
        let spec = NodeSpec::new("ProdGrad", vec![x, axes, dy])
            .attr("T", AttrValue::Type(dtype))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.argmax(x, axis)` with TF's default `output_type` int64: the index of the largest value along
    /// `axis` (the first one on ties).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input or an axis out of range.
    pub fn argmax(&mut self, x: Output, axis: i64) -> Result<Output> {
        self.arg_reduce("ArgMax", x, axis, DType::I64)
    }

    /// `tf.argmax(x, axis, output_type)`; `output_type` is int32 or int64.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input, an axis out of range or another output type.
    pub fn argmax_typed(&mut self, x: Output, axis: i64, output_type: DType) -> Result<Output> {
        self.arg_reduce("ArgMax", x, axis, output_type)
    }

    /// `tf.argmin(x, axis)` with TF's default `output_type` int64: the index of the smallest value along
    /// `axis` (the first one on ties).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input or an axis out of range.
    pub fn argmin(&mut self, x: Output, axis: i64) -> Result<Output> {
        self.arg_reduce("ArgMin", x, axis, DType::I64)
    }

    /// `tf.argmin(x, axis, output_type)`; `output_type` is int32 or int64.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input, an axis out of range or another output type.
    pub fn argmin_typed(&mut self, x: Output, axis: i64, output_type: DType) -> Result<Output> {
        self.arg_reduce("ArgMin", x, axis, output_type)
    }

    fn arg_reduce(&mut self, op_type: &str, x: Output, axis: i64, output_type: DType) -> Result<Output> {
        self.check_dtype(op_type, x, NUMERIC)?;
        if !matches!(output_type, DType::I32 | DType::I64) {
            return Err(Error::invalid_argument(format!(
                "{op_type} of '{}': output_type must be int32 or int64, got {output_type}",
                self.output_name(x)
            )));
        }
        let (dtype, shape) = self.input_info(op_type, x)?;
        let out = reduced_shape(&shape, Some(&[axis]), false)
            .map_err(|e| e.context(format!("{op_type} of '{}'", self.output_name(x))))?;
        let dim = self.constant(Tensor::scalar(axis as i32))?;
        let spec = NodeSpec::new(op_type, vec![x, dim])
            .attr("T", AttrValue::Type(dtype))
            .attr("output_type", AttrValue::Type(output_type))
            .output(output_type, out);
        Ok(self.add_node(spec)?.output(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_core::Code;

    #[test]
    fn shape_inference_and_errors() -> Result<()> {
        let mut g = GraphBuilder::new();
        let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(3)]), "x")?;
        let i = g.placeholder(DType::I32, PartialShape::known(&[3]), "i")?;
        let cases = [
            (g.argmax(x, 1)?, "[?]", DType::I64),
            (g.argmin_typed(x, 0, DType::I32)?, "[3]", DType::I32),
            (g.reduce_max(x, Some(&[1]), true)?, "[?,1]", DType::F32),
            (g.reduce_prod(x, None, false)?, "[]", DType::F32),
            (g.less(x, x)?, "[?,3]", DType::Bool),
            (g.maximum(i, i)?, "[3]", DType::I32),
        ];
        for (out, shape, dtype) in cases {
            assert_eq!(g.shape(out)?.to_string(), shape);
            assert_eq!(g.dtype(out)?, dtype);
        }
        for err in [
            g.argmax(x, 2).unwrap_err(),
            g.argmax_typed(x, 0, DType::F32).unwrap_err(),
            g.exp(i).unwrap_err(),
            g.logical_not(x).unwrap_err(),
            g.clip_by_global_norm(&[None], 1.0).unwrap_err(),
        ] {
            assert_eq!(err.code(), Code::InvalidArgument, "{err}");
        }
        let err = g.sqrt(i).unwrap_err();
        assert!(err.message().contains("Sqrt") && err.message().contains("'i:0'"), "{err}");
        Ok(())
    }
}
