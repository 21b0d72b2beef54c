//! `tf.train.GradientDescentOptimizer`.

use super::{apply_node, hyper, LearningRate, Optimizer};
use crate::{GraphBuilder, Operation, Output, Variable};
use ferroflow_core::Result;

/// Plain gradient descent: `var -= learning_rate * grad`.
#[derive(Debug, Clone)]
pub struct GradientDescentOptimizer {
    learning_rate: LearningRate,
}

impl GradientDescentOptimizer {
    /// An optimizer with this learning rate (a constant or a schedule tensor).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        GradientDescentOptimizer { learning_rate: learning_rate.into() }
    }
}

impl Optimizer for GradientDescentOptimizer {
    fn name(&self) -> &str {
        "GradientDescent"
    }

    fn apply_dense(&mut self, g: &mut GraphBuilder, grad: Output, var: &Variable) -> Result<Operation> {
        let lr = hyper(g, self.learning_rate, var)?;
        apply_node(g, "ApplyGradientDescent", var, &[], vec![lr], grad, &[])
    }
}
