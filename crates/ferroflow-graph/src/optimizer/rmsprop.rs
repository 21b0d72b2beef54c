//! `tf.train.RMSPropOptimizer`.

use super::{apply_node, hyper, slot, LearningRate, Optimizer};
use crate::{GraphBuilder, Operation, Output, Variable};
use ferroflow_core::Result;

/// RMSProp: `ms = decay * ms + (1 - decay) * grad^2; mom = momentum * mom + lr * grad / sqrt(ms + eps)`
/// as TF's `ApplyRMSProp` (epsilon added to `sqrt(ms)` here); `var -= mom`. Slots `<var>/RMSProp`
/// (initialized to ones, as TF1) and `<var>/RMSProp_1`.
#[derive(Debug, Clone)]
pub struct RMSPropOptimizer {
    learning_rate: LearningRate,
    decay: f64,
    momentum: f64,
    epsilon: f64,
}

impl RMSPropOptimizer {
    /// An optimizer with TF's defaults: decay 0.9, momentum 0, epsilon 1e-10.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        RMSPropOptimizer { learning_rate: learning_rate.into(), decay: 0.9, momentum: 0.0, epsilon: 1e-10 }
    }

    /// Sets decay, momentum and epsilon. By default, 0.9, 0.0 and 1e-10.
    pub fn with(mut self, decay: f64, momentum: f64, epsilon: f64) -> Self {
        self.decay = decay;
        self.momentum = momentum;
        self.epsilon = epsilon;
        self
    }
}

impl Optimizer for RMSPropOptimizer {
    fn name(&self) -> &str {
        "RMSProp"
    }

    fn apply_dense(&mut self, g: &mut GraphBuilder, grad: Output, var: &Variable) -> Result<Operation> {
        let ms = slot(g, var, "RMSProp", 1.0)?;
        let mom = slot(g, var, "RMSProp_1", 0.0)?;
        let lr = hyper(g, self.learning_rate, var)?;
        let rho = hyper(g, self.decay.into(), var)?;
        let m = hyper(g, self.momentum.into(), var)?;
        let eps = hyper(g, self.epsilon.into(), var)?;
        apply_node(g, "ApplyRMSProp", var, &[&ms, &mom], vec![lr, rho, m, eps], grad, &[])
    }
}
