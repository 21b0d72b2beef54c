//! An MLP classifier of the embedded digits, trained with a plain `Session` loop.

use crate::datasets::Digits;
use ferroflow_core::{DType, PartialShape, Result};
use ferroflow_graph::optimizer::{MomentumOptimizer, Optimizer};
use ferroflow_graph::{GraphBuilder, Initializer, Operation, Output, VariableOptions};
use ferroflow_session::{DirectSession, Fetch, SessionExt};

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitsConfig {
    /// Hidden units. By default, 128.
    pub hidden: usize,
    /// Training steps. By default, 600.
    pub steps: usize,
    /// Examples per step. By default, 64.
    pub batch_size: usize,
    /// Learning rate of momentum SGD (momentum 0.9). By default, 0.05.
    pub learning_rate: f64,
    /// Graph-level random seed and data-split seed. By default, 42.
    pub seed: u64,
}

impl Default for DigitsConfig {
    fn default() -> Self {
        DigitsConfig { hidden: 128, steps: 600, batch_size: 64, learning_rate: 0.05, seed: 42 }
    }
}

/// What training reached.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitsReport {
    /// Loss of the last training batch.
    pub final_loss: f32,
    /// Accuracy on the training examples.
    pub train_accuracy: f64,
    /// Accuracy on the held-out 20%.
    pub eval_accuracy: f64,
}

struct Model {
    x: Output,
    y: Output,
    loss: Output,
    accuracy: Output,
    train: Operation,
    init: Operation,
}

fn build(g: &mut GraphBuilder, config: &DigitsConfig) -> Result<Model> {
    g.set_random_seed(config.seed as i64);
    let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(64)]), "x")?;
    let y = g.placeholder(DType::I32, PartialShape::new(vec![None]), "y")?;
    let glorot = || Initializer::GlorotUniform { seed: None };
    let logits = g.with_name_scope("hidden", |g| {
        let w = g.get_variable(
            "weights",
            &[64, config.hidden],
            DType::F32,
            glorot(),
            VariableOptions::default(),
        )?;
        let b = g.get_variable(
            "biases",
            &[config.hidden],
            DType::F32,
            Initializer::Zeros,
            VariableOptions::default(),
        )?;
        let xw = g.matmul(x, w.value(), false, false)?;
        let pre = g.bias_add(xw, b.value())?;
        g.relu(pre)
    })?;
    let logits = g.with_name_scope("logits", |g| {
        let w = g.get_variable(
            "weights",
            &[config.hidden, 10],
            DType::F32,
            glorot(),
            VariableOptions::default(),
        )?;
        let b =
            g.get_variable("biases", &[10], DType::F32, Initializer::Zeros, VariableOptions::default())?;
        let hw = g.matmul(logits, w.value(), false, false)?;
        g.bias_add(hw, b.value())
    })?;
    let xent = g.sparse_softmax_cross_entropy_with_logits(y, logits)?;
    let loss = g.reduce_mean(xent, None, false)?;
    let predicted = g.argmax_typed(logits, 1, DType::I32)?;
    let correct = g.equal(predicted, y)?;
    let correct_f = g.cast(correct, DType::F32)?;
    let accuracy = g.reduce_mean(correct_f, None, false)?;
    let step = g.get_or_create_global_step()?;
    let train =
        MomentumOptimizer::new(config.learning_rate, 0.9, false).minimize(g, loss, Some(&step), None)?;
    let init = g.global_variables_initializer()?;
    Ok(Model { x, y, loss, accuracy, train, init })
}

/// Trains the MLP on 80% of the digits and evaluates it on the other 20%.
///
/// # Errors
/// Any graph-building or run error.
pub fn train_digits_mlp(config: &DigitsConfig) -> Result<DigitsReport> {
    let (train, test) = Digits::load()?.split(0.2, config.seed);
    let mut g = GraphBuilder::new();
    let m = build(&mut g, config)?;
    let mut sess = DirectSession::new(g.finalize());
    sess.run(m.init, &[])?;
    let mut final_loss = f32::NAN;
    for step in 0..config.steps {
        let (xb, yb) = train.batch(step * config.batch_size, config.batch_size)?;
        let out = sess.run(Fetch::List(vec![m.train.into(), m.loss.into()]), &[(m.x, xb), (m.y, yb)])?;
        final_loss = out.get(1)?.scalar::<f32>()?;
    }
    let mut accuracy = |d: &Digits| -> Result<f64> {
        let (xa, ya) = d.all()?;
        Ok(f64::from(sess.run(m.accuracy, &[(m.x, xa), (m.y, ya)])?.scalar::<f32>()?))
    };
    Ok(DigitsReport { final_loss, train_accuracy: accuracy(&train)?, eval_accuracy: accuracy(&test)? })
}
