//! Activations, softmax and losses (TF's `nn_ops.py`).

use crate::{AttrValue, GraphBuilder, NodeSpec, Output};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};

const FLOATS: &[DType] = &[DType::F32, DType::F64];
const NUMERIC: &[DType] = &[DType::F32, DType::F64, DType::I32, DType::I64, DType::U8];
const INDICES: &[DType] = &[DType::I32, DType::I64];

/// SELU's `scale` (Klambauer et al., as TF's kernel spells it).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// SELU's `alpha`.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

impl GraphBuilder {
    /// `tf.nn.relu(features)`: `max(features, 0)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input.
    pub fn relu(&mut self, features: Output) -> Result<Output> {
        self.unary_checked("Relu", features, NUMERIC)
    }

    /// `tf.nn.relu6(features)`: `min(max(features, 0), 6)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input.
    pub fn relu6(&mut self, features: Output) -> Result<Output> {
        self.unary_checked("Relu6", features, NUMERIC)
    }

    /// `tf.nn.leaky_relu(features, alpha)`: `features` where positive, else `alpha * features`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input or a non-finite `alpha`.
    pub fn leaky_relu(&mut self, features: Output, alpha: f64) -> Result<Output> {
        self.check_dtype("LeakyRelu", features, FLOATS)?;
        if !alpha.is_finite() {
            return Err(Error::invalid_argument(format!(
                "LeakyRelu of '{}': alpha must be finite, got {alpha}",
                self.output_name(features)
            )));
        }
        let (dtype, shape) = self.input_info("LeakyRelu", features)?;
        let spec = NodeSpec::new("LeakyRelu", vec![features])
            .attr("T", AttrValue::Type(dtype))
            .attr("alpha", AttrValue::Float(alpha))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.elu(features)`: `features` where positive, else `exp(features) - 1`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn elu(&mut self, features: Output) -> Result<Output> {
        self.unary_checked("Elu", features, FLOATS)
    }

    /// `tf.nn.selu(features)`: `scale * features` where positive, else `scale * alpha * (exp(features) - 1)`
    /// ([`SELU_SCALE`], [`SELU_ALPHA`]).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn selu(&mut self, features: Output) -> Result<Output> {
        self.unary_checked("Selu", features, FLOATS)
    }

    /// `tf.nn.softplus(features)`: `log(exp(features) + 1)`, computed without overflow.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn softplus(&mut self, features: Output) -> Result<Output> {
        self.unary_checked("Softplus", features, FLOATS)
    }

    /// An activation's gradient op (`ReluGrad(gradients, features)` and kin): same dtype and shape as
    /// `features`.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn activation_grad(
        &mut self,
        op_type: &str,
        gradients: Output,
        features: Output,
        alpha: Option<f64>,
    ) -> Result<Output> {
        let (dtype, shape) = self.input_info(op_type, features)?;
        let (gdtype, gshape) = self.input_info(op_type, gradients)?;
        if gdtype != dtype {
            return Err(Error::invalid_argument(format!(
                "{op_type}: gradients '{}' have dtype {gdtype}, features '{}' {dtype}",
                self.output_name(gradients),
                self.output_name(features)
            )));
        }
        let shape = shape.merge(&gshape).map_err(|e| e.context(op_type))?;
        let mut spec = NodeSpec::new(op_type, vec![gradients, features]).attr("T", AttrValue::Type(dtype));
        if let Some(a) = alpha {
            spec = spec.attr("alpha", AttrValue::Float(a));
        }
        Ok(self.add_node(spec.output(dtype, shape))?.output(0))
    }

    fn check_rank_at_least(&self, op_type: &str, x: Output, rank: usize) -> Result<PartialShape> {
        let shape = self.shape(x).map_err(|e| e.context(op_type))?.clone();
        if shape.rank().is_some_and(|r| r < rank) {
            return Err(Error::invalid_argument(format!(
                "{op_type}: '{}' has shape {shape}, needs rank at least {rank}",
                self.output_name(x)
            )));
        }
        Ok(shape)
    }

    /// `tf.nn.softmax(logits)` over the last axis.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input or a scalar.
    pub fn softmax(&mut self, logits: Output) -> Result<Output> {
        self.check_rank_at_least("Softmax", logits, 1)?;
        self.unary_checked("Softmax", logits, FLOATS)
    }

    /// `tf.nn.log_softmax(logits)` over the last axis: `logits - log(sum(exp(logits)))`, computed stably.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input or a scalar.
    pub fn log_softmax(&mut self, logits: Output) -> Result<Output> {
        self.check_rank_at_least("LogSoftmax", logits, 1)?;
        self.unary_checked("LogSoftmax", logits, FLOATS)
    }

    /// `tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)`: the per-example loss `[N]` for
    /// integer class `labels` `[N]` and unscaled `logits` `[N, C]`. One fused kernel computes the loss and
    /// the gradient with respect to the logits (`softmax - one_hot`), which the gradient reuses, as in TF.
    ///
    /// # Errors
    /// `InvalidArgument` naming the tensors for labels that are not an int32/int64 vector, logits that
    /// are not a float matrix, or batch sizes that differ. At run time, a label outside `[0, C)` is an
    /// `InvalidArgument` naming the value.
    pub fn sparse_softmax_cross_entropy_with_logits(
        &mut self,
        labels: Output,
        logits: Output,
    ) -> Result<Output> {
        const OP: &str = "SparseSoftmaxCrossEntropyWithLogits";
        let tlabels = self.check_dtype(OP, labels, INDICES)?;
        let dtype = self.check_dtype(OP, logits, FLOATS)?;
        let (sl, sx) = (self.shape(labels)?.clone(), self.shape(logits)?.clone());
        if sl.rank().is_some_and(|r| r != 1) || sx.rank().is_some_and(|r| r != 2) {
            return Err(Error::invalid_argument(format!(
                "{OP}: labels '{}' must be a vector and logits '{}' a matrix, got shapes {sl} and {sx}",
                self.output_name(labels),
                self.output_name(logits)
            )));
        }
        let batch = match (sl.dim(0), sx.dim(0)) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid_argument(format!(
                    "{OP}: labels '{}' {sl} and logits '{}' {sx} have different batch sizes",
                    self.output_name(labels),
                    self.output_name(logits)
                )))
            }
            (a, b) => a.or(b),
        };
        let spec = NodeSpec::new(OP, vec![logits, labels])
            .attr("T", AttrValue::Type(dtype))
            .attr("Tlabels", AttrValue::Type(tlabels))
            .output(dtype, PartialShape::new(vec![batch]))
            .output(dtype, PartialShape::new(vec![batch, sx.dim(1)]));
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.softmax_cross_entropy_with_logits(labels, logits)`: the per-example loss `[N]` for label
    /// distributions `[N, C]` and logits `[N, C]`, fused with its gradient as in TF. Unlike TF1's
    /// deprecated version and like `_v2`, the gradient also flows into `labels`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the tensors for non-float or mismatched dtypes, or shapes that are not
    /// the same matrix shape.
    pub fn softmax_cross_entropy_with_logits(&mut self, labels: Output, logits: Output) -> Result<Output> {
        const OP: &str = "SoftmaxCrossEntropyWithLogits";
        let dtype = self.check_dtype(OP, logits, FLOATS)?;
        let (dl, sl) = self.input_info(OP, labels)?;
        let sx = self.shape(logits)?.clone();
        let merged = sx.merge(&sl).ok().filter(|s| s.rank().is_none_or(|r| r == 2));
        let (Some(shape), true) = (merged, dl == dtype) else {
            return Err(Error::invalid_argument(format!(
                "{OP}: labels '{}' ({dl} {sl}) and logits '{}' ({dtype} {sx}) must be float matrices of one dtype and shape",
                self.output_name(labels),
                self.output_name(logits)
            )));
        };
        let spec = NodeSpec::new(OP, vec![logits, labels])
            .attr("T", AttrValue::Type(dtype))
            .output(dtype, PartialShape::new(vec![shape.dim(0)]))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.bias_add(value, bias)` (NHWC): adds the vector `bias` `[C]` along the last axis of `value`
    /// `[..., C]`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the tensors for non-numeric or different dtypes, a `value` of rank below
    /// 2, a non-vector `bias`, or a bias length that differs from the last dimension.
    pub fn bias_add(&mut self, value: Output, bias: Output) -> Result<Output> {
        const OP: &str = "BiasAdd";
        let dtype = self.check_dtype(OP, value, NUMERIC)?;
        let sv = self.check_rank_at_least(OP, value, 2)?;
        let (db, sb) = self.input_info(OP, bias)?;
        let last = sv.rank().and_then(|r| sv.dim(r - 1));
        let bad = db != dtype
            || sb.rank().is_some_and(|r| r != 1)
            || matches!((last, sb.dim(0)), (Some(a), Some(b)) if a != b);
        if bad {
            return Err(Error::invalid_argument(format!(
                "{OP}: bias '{}' ({db} {sb}) must be a vector of {dtype} as long as the last dimension of value '{}' {sv}",
                self.output_name(bias),
                self.output_name(value)
            )));
        }
        let shape = match (sv.dims(), sb.dim(0)) {
            (Some(d), Some(c)) => {
                let mut d = d.to_vec();
                if let Some(l) = d.last_mut() {
                    *l = Some(c);
                }
                PartialShape::new(d)
            }
            _ => sv,
        };
        let spec = NodeSpec::new(OP, vec![value, bias])
            .attr("T", AttrValue::Type(dtype))
            .attr("data_format", AttrValue::Str("NHWC".into()))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// TF's `BiasAddGrad(out_backprop)`: the sum over every axis but the last.
    ///
    /// # Errors
    /// `InvalidArgument` for mismatched dtypes or shapes.
    pub fn bias_add_grad(&mut self, out_backprop: Output) -> Result<Output> {
        const OP: &str = "BiasAddGrad";
        let (dtype, shape) = self.input_info(OP, out_backprop)?;
        let c = shape.rank().and_then(|r| r.checked_sub(1)).and_then(|l| shape.dim(l));
        let spec = NodeSpec::new(OP, vec![out_backprop])
            .attr("T", AttrValue::Type(dtype))
            .attr("data_format", AttrValue::Str("NHWC".into()))
            .output(dtype, PartialShape::new(vec![c]));
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.debugging.check_numerics(tensor, message)`: passes `tensor` through, and fails the run with
    /// `InvalidArgument` ("`message` : Tensor had NaN values", "... Inf values", as TF) when it holds a
    /// NaN or an infinity.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input.
    pub fn check_numerics(&mut self, tensor: Output, message: &str) -> Result<Output> {
        let dtype = self.check_dtype("CheckNumerics", tensor, FLOATS)?;
        let shape = self.shape(tensor)?.clone();
        let spec = NodeSpec::new("CheckNumerics", vec![tensor])
            .attr("T", AttrValue::Type(dtype))
            .attr("message", AttrValue::Str(message.to_string()))
            .output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.l2_normalize(x, axis, epsilon)`: `x / sqrt(max(sum(x^2, axis), epsilon))`, composed of ops
    /// as in TF (so its gradient comes from theirs). TF's default `epsilon` is `1e-12`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float input or an axis out of range.
    pub fn l2_normalize(&mut self, x: Output, axes: &[i64], epsilon: f64) -> Result<Output> {
        self.check_dtype("l2_normalize", x, FLOATS)?;
        self.with_name_scope("l2_normalize", |g| {
            let sq = g.square(x)?;
            let sum = g.reduce_sum(sq, Some(axes), true)?;
            let eps = g.scalar_like(x, epsilon)?;
            let clamped = g.maximum(sum, eps)?;
            let inv = g.rsqrt(clamped)?;
            g.mul(x, inv)
        })
    }

    /// `tf.nn.top_k(input, k, sorted=True)`: the `k` largest values along the last axis, largest first
    /// (on ties, the lower index first), and their int32 indices.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-numeric input, a scalar, or a last dimension smaller than `k`.
    pub fn top_k(&mut self, input: Output, k: usize) -> Result<(Output, Output)> {
        const OP: &str = "TopKV2";
        let dtype = self.check_dtype(OP, input, NUMERIC)?;
        let shape = self.check_rank_at_least(OP, input, 1)?;
        let k32 =
            i32::try_from(k).map_err(|_| Error::invalid_argument(format!("{OP}: k = {k} is too large")))?;
        let out = match shape.dims() {
            Some(d) => {
                let mut d = d.to_vec();
                if let Some(last) = d.last_mut() {
                    if last.is_some_and(|n| n < k) {
                        return Err(Error::invalid_argument(format!(
                            "{OP}: input '{}' {shape} must have last dimension >= k = {k}",
                            self.output_name(input)
                        )));
                    }
                    *last = Some(k);
                }
                PartialShape::new(d)
            }
            None => PartialShape::unknown(),
        };
        let k_t = self.constant(Tensor::scalar(k32))?;
        let spec = NodeSpec::new(OP, vec![input, k_t])
            .attr("T", AttrValue::Type(dtype))
            .attr("sorted", AttrValue::Bool(true))
            .output(dtype, out.clone())
            .output(DType::I32, out);
        let op = self.add_node(spec)?;
        Ok((op.output(0), op.output(1)))
    }

    /// `tf.nn.in_top_k(predictions, targets, k)`: for each row, whether the target class is among the `k`
    /// largest predictions. As in TF, classes tied with the k-th value all count as in the top k, and a
    /// target out of range or with a non-finite prediction gives `false`.
    ///
    /// # Errors
    /// `InvalidArgument` for predictions that are not a float32 matrix, targets that are not an
    /// int32/int64 vector of the same batch size, or a negative `k`.
    pub fn in_top_k(&mut self, predictions: Output, targets: Output, k: i64) -> Result<Output> {
        const OP: &str = "InTopK";
        self.check_dtype(OP, predictions, &[DType::F32])?;
        let tdtype = self.check_dtype(OP, targets, INDICES)?;
        let (sp, st) = (self.shape(predictions)?.clone(), self.shape(targets)?.clone());
        let batch_differs = matches!((sp.dim(0), st.dim(0)), (Some(a), Some(b)) if a != b);
        if sp.rank().is_some_and(|r| r != 2) || st.rank().is_some_and(|r| r != 1) || batch_differs || k < 0 {
            return Err(Error::invalid_argument(format!(
                "{OP}: predictions '{}' {sp} must be a matrix, targets '{}' {st} a vector of its batch size, and k = {k} >= 0",
                self.output_name(predictions),
                self.output_name(targets)
            )));
        }
        let spec = NodeSpec::new(OP, vec![predictions, targets])
            .attr("T", AttrValue::Type(tdtype))
            .attr("k", AttrValue::Int(k))
            .output(DType::Bool, PartialShape::new(vec![sp.dim(0).or(st.dim(0))]));
        Ok(self.add_node(spec)?.output(0))
    }
}
