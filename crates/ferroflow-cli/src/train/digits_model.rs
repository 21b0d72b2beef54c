//! The classifiers `train` builds: graph ops for the model, its loss, an optimizer step that also
//! increments the global step, and the initializer.

use crate::cli::{OptimizerKind, TrainModel};
use ferroflow_core::{DType, PartialShape, Result, Tensor};
use ferroflow_graph::optimizer::{AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, Variable, VariableOptions};

/// Pixels per digit image (8x8).
pub const FEATURES: usize = 64;
/// Digit classes.
pub const CLASSES: usize = 10;
/// Hidden units of the MLP.
pub const HIDDEN: usize = 128;

/// Handles of a built classifier.
#[derive(Debug, Clone)]
pub struct DigitsModel {
    /// Images `[batch, 64]`, float32 in `[0, 1]`.
    pub x: Output,
    /// Labels `[batch]`, int32 0..9.
    pub y: Output,
    /// Class scores `[batch, 10]`.
    pub logits: Output,
    /// Mean loss of the batch.
    pub loss: Output,
    /// One optimizer step; increments the global step after the updates.
    pub train_op: Operation,
    /// The global step.
    pub global_step: Variable,
    /// Initializes every variable.
    pub init: Operation,
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
}

impl DigitsModel {
    /// Builds the model into `g`. Variables are named as TF1's layers would be (`hidden/weights`,
    /// `logits/biases`, ...), which is also their checkpoint key.
    ///
    /// # Errors
    /// As graph building; `Unimplemented` for the CNN.
    pub fn build(g: &mut GraphBuilder, config: &ModelConfig) -> Result<DigitsModel> {
        // The seed is masked into i64's range: any u64 the user gives is a valid seed.
        g.set_random_seed((config.seed & (i64::MAX as u64)) as i64);
        let global_step = g.get_or_create_global_step()?;
        let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(FEATURES)]), "x")?;
        let y = labels_placeholder(g)?;
        let glorot = || Initializer::GlorotUniform { seed: None };
        let dense = |g: &mut GraphBuilder, scope: &str, input: Output, n_in: usize, n_out: usize| {
            g.with_name_scope(scope, |g| {
                let w = g.get_variable(
                    "weights",
                    &[n_in, n_out],
                    DType::F32,
                    glorot(),
                    VariableOptions::default(),
                )?;
                let b = g.get_variable(
                    "biases",
                    &[n_out],
                    DType::F32,
                    Initializer::Zeros,
                    VariableOptions::default(),
                )?;
                let xw = g.matmul(input, w.value(), false, false)?;
                g.bias_add(xw, b.value())
            })
        };
        let logits = match config.model {
            TrainModel::Linear => dense(g, "logits", x, FEATURES, CLASSES)?,
            TrainModel::Mlp => {
                let pre = dense(g, "hidden", x, FEATURES, HIDDEN)?;
                let h = activation(g, pre)?;
                dense(g, "logits", h, HIDDEN, CLASSES)?
            }
            TrainModel::Cnn => {
                return Err(ferroflow_core::Error::unimplemented(
                    "--model cnn is not yet supported (mlp, linear)",
                ))
            }
        };
        let loss = mean_loss(g, y, logits)?;
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
        let init = g.global_variables_initializer()?;
        Ok(DigitsModel { x, y, logits, loss, train_op, global_step, init })
    }

    /// The tensor to feed to [`y`](Self::y) for these labels.
    ///
    /// # Errors
    /// `InvalidArgument` for a label outside `0..10`.
    pub fn labels_tensor(&self, labels: &[i32]) -> Result<Tensor> {
        labels_feed(labels)
    }
}

fn labels_placeholder(g: &mut GraphBuilder) -> Result<Output> {
    g.placeholder(DType::I32, PartialShape::new(vec![None]), "y")
}

fn labels_feed(labels: &[i32]) -> Result<Tensor> {
    // The cross-entropy kernel would reject a bad label too, but only mid-run and without saying which.
    if let Some(bad) = labels.iter().find(|l| !(0..CLASSES as i32).contains(*l)) {
        return Err(ferroflow_core::Error::invalid_argument(format!(
            "label {bad} is not a digit class 0..{CLASSES}"
        )));
    }
    Tensor::from_vec(&[labels.len()], labels.to_vec())
}

fn activation(g: &mut GraphBuilder, pre: Output) -> Result<Output> {
    g.relu(pre)
}

fn mean_loss(g: &mut GraphBuilder, y: Output, logits: Output) -> Result<Output> {
    let xent = g.sparse_softmax_cross_entropy_with_logits(y, logits)?;
    g.reduce_mean(xent, None, false)
}

/// The fraction of rows of `logits` (`[n, classes]`) whose largest score is at the label (ties go to the
/// first, as `tf.argmax`).
///
/// # Errors
/// `InvalidArgument` when `logits` is not float32 `[labels.len(), classes]`.
pub fn accuracy(logits: &Tensor, labels: &[i32]) -> Result<f64> {
    let scores = logits.to_vec::<f32>()?;
    let n = labels.len();
    if n == 0 || logits.shape().len() != 2 || logits.shape()[0] != n {
        return Err(ferroflow_core::Error::invalid_argument(format!(
            "accuracy of logits {:?} against {n} labels",
            logits.shape()
        )));
    }
    let classes = logits.shape()[1];
    let correct = scores
        .chunks(classes.max(1))
        .zip(labels)
        .filter(|(row, &label)| {
            let best = row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best });
            usize::try_from(label).is_ok_and(|l| l == best)
        })
        .count();
    Ok(correct as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_counts_argmax_hits() -> Result<()> {
        let logits = Tensor::from_vec(&[3, 2], vec![0.0f32, 1.0, 2.0, 1.0, 5.0, 5.0])?;
        assert_eq!(accuracy(&logits, &[1, 0, 1])?, 2.0 / 3.0);
        assert!(accuracy(&logits, &[1]).is_err());
        Ok(())
    }
}
