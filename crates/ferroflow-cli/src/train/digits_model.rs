//! The classifiers `train` builds: graph ops for the model, its loss and accuracy (with summaries), and
//! an optimizer step that also increments the global step.

use crate::cli::{OptimizerKind, TrainModel};
use ferroflow_core::{DType, Error, PartialShape, Result};
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_graph::optimizer::{AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, Variable, VariableOptions};

/// Digit classes.
pub const CLASSES: usize = 10;
/// Hidden units of the MLP.
pub const HIDDEN: usize = 128;
/// Channels of the CNN's two convolutions.
pub const CNN_CHANNELS: [usize; 2] = [16, 32];

/// Handles of a built classifier.
#[derive(Debug, Clone)]
pub struct DigitsModel {
    /// Images `[batch, features]`, float32 in `[0, 1]`: a placeholder, or one with the input pipeline's
    /// batch as default (feeding it evaluates other examples).
    pub x: Output,
    /// Labels `[batch]`, int32 0..9 (a placeholder, or one with a default, as `x`).
    pub y: Output,
    /// Class scores `[batch, 10]`.
    pub logits: Output,
    /// Mean loss of the batch.
    pub loss: Output,
    /// Fraction of the batch whose largest score is at the label.
    pub accuracy: Output,
    /// One optimizer step; increments the global step after the updates.
    pub train_op: Operation,
    /// The global step.
    pub global_step: Variable,
}

/// Training settings that change the graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    /// Which model.
    pub model: TrainModel,
    /// Which optimizer.
    pub optimizer: OptimizerKind,
    /// Its learning rate.
    pub learning_rate: f64,
    /// The graph-level seed.
    pub seed: u64,
    /// Values per image.
    pub features: usize,
    /// Height and width of an image (needed by the CNN).
    pub image: Option<(usize, usize)>,
}

/// The model's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelInput {
    /// Placeholders, fed each step.
    Feed,
    /// The input pipeline's next batch, `[images f32 [b, features], labels i32 [b]]`.
    Pipeline(Output, Output),
}

impl DigitsModel {
    /// Builds the model into `g`, with `loss` and `accuracy` scalar summaries. Variables are named as
    /// TF1's layers would be (`hidden/weights`, `logits/biases`, ...), which is also their checkpoint key.
    ///
    /// # Errors
    /// As graph building; `InvalidArgument` for the CNN on images of unknown height and width.
    pub fn build(g: &mut GraphBuilder, config: &ModelConfig, input: ModelInput) -> Result<DigitsModel> {
        // The seed is masked into i64's range: any u64 the user gives is a valid seed.
        g.set_random_seed((config.seed & (i64::MAX as u64)) as i64);
        let global_step = g.get_or_create_global_step()?;
        let features = config.features;
        let x_shape = PartialShape::new(vec![None, Some(features)]);
        let (x, y) = match input {
            ModelInput::Feed => (
                g.placeholder(DType::F32, x_shape, "x")?,
                g.placeholder(DType::I32, PartialShape::new(vec![None]), "y")?,
            ),
            ModelInput::Pipeline(images, labels) => (
                g.placeholder_with_default(images, x_shape, "x")?,
                g.placeholder_with_default(labels, PartialShape::new(vec![None]), "y")?,
            ),
        };
        let logits = match config.model {
            TrainModel::Linear => dense(g, "logits", x, features, CLASSES)?,
            TrainModel::Mlp => {
                let pre = dense(g, "hidden", x, features, HIDDEN)?;
                let h = g.relu(pre)?;
                dense(g, "logits", h, HIDDEN, CLASSES)?
            }
            TrainModel::Cnn => {
                let Some((height, width)) = config.image else {
                    return Err(Error::invalid_argument(format!(
                        "--model cnn needs square images or IDX images; these have {features} values"
                    )));
                };
                cnn(g, x, height, width)?
            }
        };
        let xent = g.sparse_softmax_cross_entropy_with_logits(y, logits)?;
        let loss = g.reduce_mean(xent, None, false)?;
        let predicted = g.argmax_typed(logits, 1, DType::I32)?;
        let hits = g.equal(predicted, y)?;
        let hits = g.cast(hits, DType::F32)?;
        let accuracy = g.reduce_mean(hits, None, false)?;
        g.scalar_summary("loss", loss, None)?;
        g.scalar_summary("accuracy", accuracy, None)?;
        let lr = config.learning_rate;
        let train_op = match config.optimizer {
            OptimizerKind::Sgd => {
                GradientDescentOptimizer::new(lr).minimize(g, loss, Some(&global_step), None)?
            }
            OptimizerKind::Momentum => {
                MomentumOptimizer::new(lr, 0.9, false).minimize(g, loss, Some(&global_step), None)?
            }
            OptimizerKind::Adam => AdamOptimizer::new(lr).minimize(g, loss, Some(&global_step), None)?,
        };
        Ok(DigitsModel { x, y, logits, loss, accuracy, train_op, global_step })
    }
}

fn dense(g: &mut GraphBuilder, scope: &str, input: Output, n_in: usize, n_out: usize) -> Result<Output> {
    g.with_name_scope(scope, |g| {
        let glorot = Initializer::GlorotUniform { seed: None };
        let w = g.get_variable("weights", &[n_in, n_out], DType::F32, glorot, VariableOptions::default())?;
        let b =
            g.get_variable("biases", &[n_out], DType::F32, Initializer::Zeros, VariableOptions::default())?;
        let xw = g.matmul(input, w.value(), false, false)?;
        g.bias_add(xw, b.value())
    })
}

/// Two 3x3 SAME convolutions with ReLU, each followed by a 2x2 SAME max pool, then a dense layer: small
/// enough for the 8x8 digits, and it works as well on 28x28 MNIST.
fn cnn(g: &mut GraphBuilder, x: Output, height: usize, width: usize) -> Result<Output> {
    let as_i64 = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let mut h = g.reshape(x, &[-1, as_i64(height), as_i64(width), 1])?;
    let (mut rows, mut cols, mut channels) = (height, width, 1);
    for (i, out) in CNN_CHANNELS.into_iter().enumerate() {
        h = g.with_name_scope(&format!("conv{}", i + 1), |g| {
            let glorot = Initializer::GlorotUniform { seed: None };
            let k = g.get_variable(
                "weights",
                &[3, 3, channels, out],
                DType::F32,
                glorot,
                VariableOptions::default(),
            )?;
            let b =
                g.get_variable("biases", &[out], DType::F32, Initializer::Zeros, VariableOptions::default())?;
            let c = g.conv2d(h, k.value(), Conv2DOptions::new(1, Padding::Same))?;
            let c = g.bias_add(c, b.value())?;
            let c = g.relu(c)?;
            g.max_pool(c, [2, 2], [2, 2], Padding::Same)
        })?;
        (rows, cols, channels) = (rows.div_ceil(2), cols.div_ceil(2), out);
    }
    let flat = rows * cols * channels;
    let h = g.reshape(h, &[-1, as_i64(flat)])?;
    dense(g, "logits", h, flat, CLASSES)
}
