//! `tf.train.AdagradOptimizer`.

use super::{apply_node, hyper, slot, LearningRate, Optimizer};
use crate::{GraphBuilder, Operation, Output, Variable};
use ferroflow_core::Result;

/// Adagrad: `accum += grad^2; var -= lr * grad / sqrt(accum)`. Slot `<var>/Adagrad`, initialized to
/// `initial_accumulator_value` (TF's default 0.1).
#[derive(Debug, Clone)]
pub struct AdagradOptimizer {
    learning_rate: LearningRate,
    initial_accumulator_value: f64,
}

impl AdagradOptimizer {
    /// An optimizer with this learning rate and TF's default initial accumulator 0.1.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        AdagradOptimizer { learning_rate: learning_rate.into(), initial_accumulator_value: 0.1 }
    }

    /// Sets the initial accumulator value. By default, 0.1.
    pub fn initial_accumulator_value(mut self, v: f64) -> Self {
        self.initial_accumulator_value = v;
        self
    }
}

impl Optimizer for AdagradOptimizer {
    fn name(&self) -> &str {
        "Adagrad"
    }

    fn apply_dense(&mut self, g: &mut GraphBuilder, grad: Output, var: &Variable) -> Result<Operation> {
        let accum = slot(g, var, "Adagrad", self.initial_accumulator_value)?;
        let lr = hyper(g, self.learning_rate, var)?;
        apply_node(g, "ApplyAdagrad", var, &[&accum], vec![lr], grad, &[])
    }
}
