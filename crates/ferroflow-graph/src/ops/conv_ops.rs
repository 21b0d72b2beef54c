//! Convolutions, pooling, batch normalization and dropout (TF's `nn_ops.py` conv family and
//! `tf.layers.batch_normalization`). Images are NHWC and filters HWIO, TF's CPU defaults.

use crate::{
    AttrValue, CollectionItem, GraphBuilder, GraphKeys, Initializer, NodeSpec, Output, Variable,
    VariableOptions,
};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};

/// How a window is placed at the borders (TF's `padding="SAME"` / `"VALID"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Pad with zeros so the output has `ceil(in / stride)` positions.
    Same,
    /// No padding: only windows that fit entirely.
    Valid,
}

impl Padding {
    /// TF's spelling (`"SAME"`, `"VALID"`), stored in the node's `padding` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Padding::Same => "SAME",
            Padding::Valid => "VALID",
        }
    }

    /// Parses TF's spelling.
    ///
    /// # Errors
    /// `InvalidArgument` for anything but `SAME` and `VALID`.
    pub fn parse(s: &str) -> Result<Padding> {
        match s {
            "SAME" => Ok(Padding::Same),
            "VALID" => Ok(Padding::Valid),
            other => Err(Error::invalid_argument(format!("unknown padding '{other}' (SAME or VALID)"))),
        }
    }
}

/// The output size and the padding before the first element along one spatial axis (TF's
/// `GetWindowedOutputSizeVerbose`): the window spans `(filter - 1) * dilation + 1` elements.
///
/// # Errors
/// `InvalidArgument` for a zero stride, dilation or filter size, or a VALID window larger than the input.
pub fn windowed_output_size(
    input: usize,
    filter: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Result<(usize, usize)> {
    if stride == 0 || dilation == 0 || filter == 0 {
        return Err(Error::invalid_argument(format!(
            "stride {stride}, dilation {dilation} and filter size {filter} must be positive"
        )));
    }
    let effective = (filter - 1) * dilation + 1;
    match padding {
        Padding::Valid => {
            if effective > input {
                return Err(Error::invalid_argument(format!(
                    "a window of {effective} does not fit an input of {input} with VALID padding"
                )));
            }
            Ok(((input - effective) / stride + 1, 0))
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let needed = ((out.max(1) - 1) * stride + effective).saturating_sub(input);
            Ok((out, needed / 2))
        }
    }
}

#[allow(clippy::too_many_arguments)] // one spatial axis of a windowed op, all scalars
fn spatial_out(
    g: &GraphBuilder,
    op: &str,
    x: Output,
    input: Option<usize>,
    filter: Option<usize>,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Result<Option<usize>> {
    if stride == 0 || dilation == 0 {
        return Err(g.op_error(op, x, "strides and dilations must be positive"));
    }
    match (input, filter) {
        (Some(i), Some(f)) => windowed_output_size(i, f, stride, dilation, padding)
            .map(|(o, _)| Some(o))
            .map_err(|e| g.op_error(op, x, e)),
        (Some(i), None) if padding == Padding::Same => Ok(Some(i.div_ceil(stride))),
        _ => Ok(None),
    }
}

/// The `[1, a, b, 1]` attribute TF stores for strides, dilations and window sizes.
fn nhwc(v: [usize; 2]) -> AttrValue {
    AttrValue::Ints(vec![1, v[0] as i64, v[1] as i64, 1])
}

/// Options of a 2-D convolution. By default, stride 1, no dilation, SAME padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2DOptions {
    /// Spatial strides (height, width); TF's `strides=[1, sh, sw, 1]`. By default, `[1, 1]`.
    pub strides: [usize; 2],
    /// Spatial dilations (height, width). By default, `[1, 1]`.
    pub dilations: [usize; 2],
    /// Border handling. By default, [`Padding::Same`].
    pub padding: Padding,
}

impl Default for Conv2DOptions {
    fn default() -> Self {
        Conv2DOptions { strides: [1, 1], dilations: [1, 1], padding: Padding::Same }
    }
}

impl Conv2DOptions {
    /// Stride `s` in both directions with the given padding, no dilation.
    pub fn new(stride: usize, padding: Padding) -> Self {
        Conv2DOptions { strides: [stride, stride], dilations: [1, 1], padding }
    }

    fn attrs(self, spec: NodeSpec, dtype: DType) -> NodeSpec {
        spec.attr("T", AttrValue::Type(dtype))
            .attr("strides", nhwc(self.strides))
            .attr("dilations", nhwc(self.dilations))
            .attr("padding", AttrValue::Str(self.padding.as_str().to_string()))
            .attr("data_format", AttrValue::Str("NHWC".to_string()))
    }
}

/// The `(strides, dilations, padding)` of a conv or pool node, read back from its attributes.
///
/// # Errors
/// `InvalidArgument` for missing or malformed attributes.
pub fn conv_attrs(attrs: &crate::Attrs) -> Result<Conv2DOptions> {
    let pick = |name: &str, default: [usize; 2]| -> Result<[usize; 2]> {
        match attrs.get(name) {
            None => Ok(default),
            Some(_) => match attrs.ints(name)? {
                [n, h, w, c] if *n == 1 && *c == 1 && *h > 0 && *w > 0 => Ok([*h as usize, *w as usize]),
                other => Err(Error::invalid_argument(format!(
                    "attribute '{name}' must be [1, h, w, 1] with positive h and w, got {other:?}"
                ))),
            },
        }
    };
    Ok(Conv2DOptions {
        strides: pick("strides", [1, 1])?,
        dilations: pick("dilations", [1, 1])?,
        padding: Padding::parse(attrs.str("padding")?)?,
    })
}

/// The window size `[kh, kw]` of a pooling node (its `ksize` attribute).
///
/// # Errors
/// `InvalidArgument` for a missing or malformed `ksize`.
pub fn pool_ksize(attrs: &crate::Attrs) -> Result<[usize; 2]> {
    match attrs.ints("ksize")? {
        [1, h, w, 1] if *h > 0 && *w > 0 => Ok([*h as usize, *w as usize]),
        other => Err(Error::invalid_argument(format!("ksize must be [1, h, w, 1], got {other:?}"))),
    }
}

/// Options of [`GraphBuilder::batch_normalization`] (`tf.layers.batch_normalization`'s arguments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormConfig {
    /// Moving averages keep this much of their old value per update. By default, 0.99.
    pub momentum: f64,
    /// Added to the variance before the square root. By default, 0.001.
    pub epsilon: f64,
    /// Learn an offset `beta`. By default, true.
    pub center: bool,
    /// Learn a scale `gamma`. By default, true.
    pub scale: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig { momentum: 0.99, epsilon: 1e-3, center: true, scale: true }
    }
}

/// The variables of a batch-normalization layer, so a training and an inference graph can share them
/// (TF does that with `reuse=True`).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// The scale (`gamma`), or `None` without `scale`.
    pub gamma: Option<Variable>,
    /// The offset (`beta`), or `None` without `center`.
    pub beta: Option<Variable>,
    /// The moving mean used at inference.
    pub moving_mean: Variable,
    /// The moving variance used at inference.
    pub moving_variance: Variable,
    /// The configuration.
    pub config: BatchNormConfig,
    /// The number of channels (the last axis).
    pub channels: usize,
    /// The dtype.
    pub dtype: DType,
}

impl GraphBuilder {
    fn conv_input_checks(
        &self,
        op: &str,
        input: Output,
        filter: Output,
    ) -> Result<(DType, PartialShape, PartialShape)> {
        let (dx, sx) = self.input_info(op, input)?;
        let (df, sf) = self.input_info(op, filter)?;
        if dx != df || !dx.is_float() {
            return Err(self.op_error(
                op,
                input,
                format!("input and filter must be one float dtype, got {dx} and {df}"),
            ));
        }
        if sx.rank().is_some_and(|r| r != 4) || sf.rank().is_some_and(|r| r != 4) {
            return Err(self.op_error(
                op,
                input,
                format!("input {sx} and filter {sf} must be 4-D (NHWC and HWIO)"),
            ));
        }
        Ok((dx, sx, sf))
    }

    /// `tf.nn.conv2d(input, filter, strides, padding, dilations)` on NHWC input with an HWIO filter.
    ///
    /// Difference: strides and dilations are the two spatial values (TF's batch and channel entries must
    /// be 1 anyway).
    ///
    /// # Errors
    /// `InvalidArgument` naming the input for non-float or mismatched dtypes, non-4-D shapes, input
    /// channels that differ from the filter's, zero strides, or a VALID window larger than the input.
    pub fn conv2d(&mut self, input: Output, filter: Output, options: Conv2DOptions) -> Result<Output> {
        let (dtype, sx, sf) = self.conv_input_checks("Conv2D", input, filter)?;
        if let (Some(c), Some(fc)) = (sx.dim(3), sf.dim(2)) {
            if c != fc {
                return Err(self.op_error(
                    "Conv2D",
                    input,
                    format!("input depth {c} differs from filter depth {fc} ({sx} and {sf})"),
                ));
            }
        }
        let [sh, sw] = options.strides;
        let [dh, dw] = options.dilations;
        let oh = spatial_out(self, "Conv2D", input, sx.dim(1), sf.dim(0), sh, dh, options.padding)?;
        let ow = spatial_out(self, "Conv2D", input, sx.dim(2), sf.dim(1), sw, dw, options.padding)?;
        let out = PartialShape::new(vec![sx.dim(0), oh, ow, sf.dim(3)]);
        let spec = options.attrs(NodeSpec::new("Conv2D", vec![input, filter]), dtype).output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// TF's `Conv2DBackpropInput(input_sizes, filter, out_backprop)`: the gradient of `conv2d` with
    /// respect to its input, whose shape is the int32 vector `input_sizes`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `out_backprop` for mismatched dtypes or non-4-D shapes.
    pub fn conv2d_backprop_input(
        &mut self,
        input_sizes: Output,
        filter: Output,
        out_backprop: Output,
        options: Conv2DOptions,
    ) -> Result<Output> {
        let (dtype, _, _) = self.conv_input_checks("Conv2DBackpropInput", out_backprop, filter)?;
        let out = match self.constant_ints(input_sizes) {
            Some(d) if d.len() == 4 => {
                PartialShape::known(&d.iter().map(|&v| v.max(0) as usize).collect::<Vec<_>>())
            }
            _ => PartialShape::unknown_dims(4),
        };
        let spec = options
            .attrs(NodeSpec::new("Conv2DBackpropInput", vec![input_sizes, filter, out_backprop]), dtype)
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// TF's `Conv2DBackpropFilter(input, filter_sizes, out_backprop)`: the gradient of `conv2d` with
    /// respect to its filter, whose shape is the int32 vector `filter_sizes`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `input` for mismatched dtypes or non-4-D shapes.
    pub fn conv2d_backprop_filter(
        &mut self,
        input: Output,
        filter_sizes: Output,
        out_backprop: Output,
        options: Conv2DOptions,
    ) -> Result<Output> {
        let (dtype, _, _) = self.conv_input_checks("Conv2DBackpropFilter", input, out_backprop)?;
        let out = match self.constant_ints(filter_sizes) {
            Some(d) if d.len() == 4 => {
                PartialShape::known(&d.iter().map(|&v| v.max(0) as usize).collect::<Vec<_>>())
            }
            _ => PartialShape::unknown_dims(4),
        };
        let spec = options
            .attrs(NodeSpec::new("Conv2DBackpropFilter", vec![input, filter_sizes, out_backprop]), dtype)
            .output(dtype, out);
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.conv2d_transpose(value, filter, output_shape, strides, padding)`: the transpose of
    /// `conv2d` (a `Conv2DBackpropInput` node). `filter` is `[h, w, output_channels, in_channels]`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `value` when its channels differ from the filter's last dimension, the
    /// output shape is not 4-D, or `conv2d` of the output shape would not give `value`'s spatial size.
    pub fn conv2d_transpose(
        &mut self,
        value: Output,
        filter: Output,
        output_shape: &[usize],
        options: Conv2DOptions,
    ) -> Result<Output> {
        let (_, sv, sf) = self.conv_input_checks("Conv2DBackpropInput", value, filter)?;
        if output_shape.len() != 4 {
            return Err(self.op_error(
                "conv2d_transpose",
                value,
                format!("output_shape {output_shape:?} must be 4-D"),
            ));
        }
        if let (Some(c), Some(fc)) = (sv.dim(3), sf.dim(3)) {
            if c != fc {
                return Err(self.op_error(
                    "conv2d_transpose",
                    value,
                    format!("value depth {c} differs from filter's last dimension {fc}"),
                ));
            }
        }
        for (axis, (k, s, d)) in [
            (1, (sf.dim(0), options.strides[0], options.dilations[0])),
            (2, (sf.dim(1), options.strides[1], options.dilations[1])),
        ] {
            let expected = spatial_out(
                self,
                "conv2d_transpose",
                value,
                output_shape.get(axis).copied(),
                k,
                s,
                d,
                options.padding,
            )?;
            if let (Some(e), Some(v)) = (expected, sv.dim(axis)) {
                if e != v {
                    return Err(self.op_error(
                        "conv2d_transpose",
                        value,
                        format!("output_shape {output_shape:?} convolves to size {e} on axis {axis}, but value {sv} has {v}"),
                    ));
                }
            }
        }
        let sizes = self.const_i32(&output_shape.iter().map(|&v| v as i64).collect::<Vec<_>>())?;
        self.conv2d_backprop_input(sizes, filter, value, options)
    }

    /// `tf.nn.depthwise_conv2d(input, filter, strides, padding, dilations)`: `filter` is
    /// `[h, w, in_channels, multiplier]` and each input channel is convolved with its own
    /// `multiplier` filters, giving `in_channels * multiplier` output channels.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input as for [`conv2d`](Self::conv2d).
    pub fn depthwise_conv2d(
        &mut self,
        input: Output,
        filter: Output,
        options: Conv2DOptions,
    ) -> Result<Output> {
        let op = "DepthwiseConv2dNative";
        let (dtype, sx, sf) = self.conv_input_checks(op, input, filter)?;
        if let (Some(c), Some(fc)) = (sx.dim(3), sf.dim(2)) {
            if c != fc {
                return Err(self.op_error(
                    op,
                    input,
                    format!("input depth {c} differs from filter depth {fc}"),
                ));
            }
        }
        let [sh, sw] = options.strides;
        let [dh, dw] = options.dilations;
        let oh = spatial_out(self, op, input, sx.dim(1), sf.dim(0), sh, dh, options.padding)?;
        let ow = spatial_out(self, op, input, sx.dim(2), sf.dim(1), sw, dw, options.padding)?;
        let oc = sf.dim(2).zip(sf.dim(3)).map(|(c, m)| c * m);
        let spec = options
            .attrs(NodeSpec::new(op, vec![input, filter]), dtype)
            .output(dtype, PartialShape::new(vec![sx.dim(0), oh, ow, oc]));
        Ok(self.add_node(spec)?.output(0))
    }

    /// A depthwise backprop node (`DepthwiseConv2dNativeBackpropInput`/`...Filter`), sharing `like`'s
    /// attributes; `sizes` is the int32 shape of the result.
    pub(crate) fn depthwise_backprop(
        &mut self,
        op_type: &str,
        like: crate::Operation,
        inputs: Vec<Output>,
        sizes_of: Output,
    ) -> Result<Output> {
        let node = self.node(like)?.clone();
        let dtype = self.dtype(sizes_of)?;
        let shape = self.shape(sizes_of)?.clone();
        let sizes = match shape.to_shape() {
            Some(s) => self.const_i32(&s.dims().iter().map(|&v| v as i64).collect::<Vec<_>>())?,
            None => self.shape_of(sizes_of)?,
        };
        let mut all = Vec::with_capacity(3);
        match op_type {
            "DepthwiseConv2dNativeBackpropInput" => {
                all.push(sizes);
                all.extend(inputs);
            }
            _ => {
                all.extend(inputs.first().copied());
                all.push(sizes);
                all.extend(inputs.get(1).copied());
            }
        }
        let mut spec = NodeSpec::new(op_type, all).output(dtype, shape);
        spec.attrs = node.attrs;
        Ok(self.add_node(spec)?.output(0))
    }

    fn pool(
        &mut self,
        op: &str,
        x: Output,
        ksize: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Output> {
        let (dtype, sx) = self.input_info(op, x)?;
        if !dtype.is_float() || sx.rank().is_some_and(|r| r != 4) {
            return Err(self.op_error(
                op,
                x,
                format!("input must be a 4-D float tensor (NHWC), got {dtype} {sx}"),
            ));
        }
        if ksize.contains(&0) {
            return Err(self.op_error(op, x, format!("ksize {ksize:?} must be positive")));
        }
        let oh = spatial_out(self, op, x, sx.dim(1), Some(ksize[0]), strides[0], 1, padding)?;
        let ow = spatial_out(self, op, x, sx.dim(2), Some(ksize[1]), strides[1], 1, padding)?;
        let spec = NodeSpec::new(op, vec![x])
            .attr("T", AttrValue::Type(dtype))
            .attr("ksize", nhwc(ksize))
            .attr("strides", nhwc(strides))
            .attr("padding", AttrValue::Str(padding.as_str().to_string()))
            .attr("data_format", AttrValue::Str("NHWC".to_string()))
            .output(dtype, PartialShape::new(vec![sx.dim(0), oh, ow, sx.dim(3)]));
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.max_pool2d(x, ksize, strides, padding)` on NHWC input.
    ///
    /// # Errors
    /// `InvalidArgument` naming the input for a non-4-D or non-float input, zero sizes, or a VALID window
    /// larger than the input.
    pub fn max_pool(
        &mut self,
        x: Output,
        ksize: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Output> {
        self.pool("MaxPool", x, ksize, strides, padding)
    }

    /// `tf.nn.avg_pool2d(x, ksize, strides, padding)` on NHWC input; SAME windows average only the
    /// elements inside the input, as TF does.
    ///
    /// # Errors
    /// As [`max_pool`](Self::max_pool).
    pub fn avg_pool(
        &mut self,
        x: Output,
        ksize: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Output> {
        self.pool("AvgPool", x, ksize, strides, padding)
    }

    /// A node copying `like`'s attributes, with the given inputs and one output of `shape_of`'s type and
    /// shape (pooling gradients).
    pub(crate) fn like_node(
        &mut self,
        op_type: &str,
        like: crate::Operation,
        inputs: Vec<Output>,
        shape_of: Output,
    ) -> Result<Output> {
        let mut attrs = self.node(like)?.attrs.clone();
        let dtype = self.dtype(shape_of)?;
        let shape = self.shape(shape_of)?.clone();
        attrs.set("T", AttrValue::Type(dtype));
        let mut spec = NodeSpec::new(op_type, inputs).output(dtype, shape);
        spec.attrs = attrs;
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.nn.fused_batch_norm(x, scale, offset, mean, variance, epsilon, is_training)` over every axis but
    /// the last (channels). Returns `(y, batch_mean, batch_variance)`; in training `mean`/`variance` are
    /// ignored (pass `None`) and the batch variance is the unbiased one, as TF's, for moving averages.
    ///
    /// Difference: any rank of at least 2 is accepted, so dense layers can use it too.
    ///
    /// # Errors
    /// `InvalidArgument` naming `x` for dtypes that differ, a rank below 2, channel vectors of the wrong
    /// length, or inference without `mean` and `variance`.
    #[allow(clippy::too_many_arguments)] // mirrors TF's signature
    pub fn fused_batch_norm(
        &mut self,
        x: Output,
        scale: Output,
        offset: Output,
        mean: Option<Output>,
        variance: Option<Output>,
        epsilon: f64,
        is_training: bool,
    ) -> Result<(Output, Output, Output)> {
        let op = "FusedBatchNorm";
        let (dtype, sx) = self.input_info(op, x)?;
        if !dtype.is_float() || sx.rank().is_some_and(|r| r < 2) {
            return Err(self.op_error(
                op,
                x,
                format!("x must be a float tensor of rank >= 2, got {dtype} {sx}"),
            ));
        }
        let channels = sx.dims().and_then(|d| d.last().copied().flatten());
        let empty = Tensor::from_vec::<f64>(&[0], vec![])?.cast(dtype)?;
        let (mean, variance) = match (mean, variance, is_training) {
            (Some(m), Some(v), _) => (m, v),
            (_, _, true) => (self.constant(empty.clone())?, self.constant(empty)?),
            _ => return Err(self.op_error(op, x, "inference needs the mean and variance")),
        };
        let mut vectors = vec![scale, offset];
        if !is_training {
            vectors.extend([mean, variance]);
        }
        for v in vectors {
            let (d, s) = self.input_info(op, v)?;
            let wrong_len = matches!((s.dim(0), channels), (Some(a), Some(b)) if a != b);
            if d != dtype || s.rank().is_some_and(|r| r != 1) || wrong_len {
                return Err(self.op_error(op, x, format!("scale, offset, mean and variance must be {dtype} vectors of the channel count, got {d} {s} for x {sx}")));
            }
        }
        let chan = PartialShape::new(vec![channels]);
        let spec = NodeSpec::new(op, vec![x, scale, offset, mean, variance])
            .attr("T", AttrValue::Type(dtype))
            .attr("epsilon", AttrValue::Float(epsilon))
            .attr("is_training", AttrValue::Bool(is_training))
            .attr("data_format", AttrValue::Str("NHWC".to_string()))
            .output(dtype, sx.clone())
            .output(dtype, chan.clone())
            .output(dtype, chan.clone())
            .output(dtype, chan.clone())
            .output(dtype, chan);
        let node = self.add_node(spec)?;
        Ok((node.output(0), node.output(1), node.output(2)))
    }

    /// Creates the variables of a batch-normalization layer for `channels` channels under `name/`
    /// (`gamma`, `beta`, `moving_mean`, `moving_variance`, as `tf.layers.batch_normalization` names them).
    /// Apply it with [`apply_batch_norm`](Self::apply_batch_norm), once per graph path that should share
    /// the variables.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float dtype; `FailedPrecondition` after `finalize`.
    pub fn batch_norm_layer(
        &mut self,
        name: &str,
        channels: usize,
        dtype: DType,
        config: BatchNormConfig,
    ) -> Result<BatchNorm> {
        if !dtype.is_float() {
            return Err(Error::invalid_argument(format!(
                "batch normalization '{name}' needs a float dtype, got {dtype}"
            )));
        }
        let gamma = if config.scale {
            Some(self.get_variable(
                &format!("{name}/gamma"),
                &[channels],
                dtype,
                Initializer::Ones,
                VariableOptions::default(),
            )?)
        } else {
            None
        };
        let beta = if config.center {
            Some(self.get_variable(
                &format!("{name}/beta"),
                &[channels],
                dtype,
                Initializer::Zeros,
                VariableOptions::default(),
            )?)
        } else {
            None
        };
        let moving_mean = self.get_variable(
            &format!("{name}/moving_mean"),
            &[channels],
            dtype,
            Initializer::Zeros,
            VariableOptions::non_trainable(),
        )?;
        let moving_variance = self.get_variable(
            &format!("{name}/moving_variance"),
            &[channels],
            dtype,
            Initializer::Ones,
            VariableOptions::non_trainable(),
        )?;
        Ok(BatchNorm { gamma, beta, moving_mean, moving_variance, config, channels, dtype })
    }

    /// Applies a batch-normalization layer. In training it normalizes with the batch statistics and adds
    /// `moving -= (moving - batch) * (1 - momentum)` updates for the moving mean and variance to
    /// `GraphKeys::UPDATE_OPS` (run them with the train op, as in TF1); at inference it uses the moving
    /// statistics.
    ///
    /// # Errors
    /// `InvalidArgument` naming `x` when its channel count differs from the layer's.
    pub fn apply_batch_norm(&mut self, layer: &BatchNorm, x: Output, training: bool) -> Result<Output> {
        let n = layer.channels;
        let dtype = layer.dtype;
        let ones = Tensor::from_vec(&[n], vec![1.0f64; n])?.cast(dtype)?;
        let zeros = Tensor::from_vec(&[n], vec![0.0f64; n])?.cast(dtype)?;
        let scale = match &layer.gamma {
            Some(v) => v.value(),
            None => self.constant(ones)?,
        };
        let offset = match &layer.beta {
            Some(v) => v.value(),
            None => self.constant(zeros)?,
        };
        let eps = layer.config.epsilon;
        if !training {
            let (y, _, _) = self.fused_batch_norm(
                x,
                scale,
                offset,
                Some(layer.moving_mean.value()),
                Some(layer.moving_variance.value()),
                eps,
                false,
            )?;
            return Ok(y);
        }
        let (y, batch_mean, batch_var) = self.fused_batch_norm(x, scale, offset, None, None, eps, true)?;
        let decay = self.scalar_like(batch_mean, 1.0 - layer.config.momentum)?;
        for (var, stat) in [(&layer.moving_mean, batch_mean), (&layer.moving_variance, batch_var)] {
            let diff = self.sub(var.value(), stat)?;
            let delta = self.mul(diff, decay)?;
            let update = self.assign_sub(var, delta)?;
            self.add_to_collection(GraphKeys::UPDATE_OPS, CollectionItem::Op(update.op()))?;
        }
        Ok(y)
    }

    /// `tf.layers.batch_normalization(x, training=training, name=name)`: creates the layer's variables for
    /// `x`'s last axis and applies it (see [`apply_batch_norm`](Self::apply_batch_norm)).
    ///
    /// Difference: `training` is a build-time bool; to share the variables between a training and an
    /// inference path, create the layer once with [`batch_norm_layer`](Self::batch_norm_layer) and apply
    /// it twice.
    ///
    /// # Errors
    /// `InvalidArgument` naming `x` when its last dimension is unknown.
    pub fn batch_normalization(
        &mut self,
        x: Output,
        training: bool,
        name: &str,
        config: BatchNormConfig,
    ) -> Result<Output> {
        let (dtype, sx) = self.input_info("batch_normalization", x)?;
        let channels = sx.dims().and_then(|d| d.last().copied().flatten()).ok_or_else(|| {
            self.op_error(
                "batch_normalization",
                x,
                format!("the channel (last) dimension of {sx} must be known"),
            )
        })?;
        let layer = self.batch_norm_layer(name, channels, dtype, config)?;
        self.apply_batch_norm(&layer, x, training)
    }

    /// `tf.nn.dropout(x, rate, seed)` when `training`, else `x`: keeps each element with probability
    /// `1 - rate`, scaled by `1 / (1 - rate)`. The mask is drawn once per run by a `DropoutMask` node
    /// seeded like TF's random ops ([`random_seeds`](Self::random_seeds)), so the gradient masks the same
    /// elements.
    ///
    /// # Errors
    /// `InvalidArgument` naming `x` for a rate outside `[0, 1)` or a non-float `x`.
    pub fn dropout(&mut self, x: Output, rate: f64, seed: Option<i64>, training: bool) -> Result<Output> {
        let (dtype, sx) = self.input_info("dropout", x)?;
        if !(0.0..1.0).contains(&rate) || !dtype.is_float() {
            return Err(self.op_error(
                "dropout",
                x,
                format!("rate {rate} must be in [0, 1) and x a float tensor ({dtype})"),
            ));
        }
        if !training || rate == 0.0 {
            return Ok(x);
        }
        let (seed, seed2) = self.random_seeds(seed);
        let shape = match sx.to_shape() {
            Some(s) => self.const_i32(&s.dims().iter().map(|&v| v as i64).collect::<Vec<_>>())?,
            None => self.shape_of(x)?,
        };
        let spec = NodeSpec::new("DropoutMask", vec![shape])
            .attr("dtype", AttrValue::Type(dtype))
            .attr("rate", AttrValue::Float(rate))
            .attr("seed", AttrValue::Int(seed))
            .attr("seed2", AttrValue::Int(seed2))
            .output(dtype, sx);
        let mask = self.add_node(spec)?.output(0);
        self.mul(x, mask)
    }
}
