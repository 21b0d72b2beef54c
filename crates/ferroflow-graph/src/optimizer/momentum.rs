//! `tf.train.MomentumOptimizer`.

use super::{apply_node, hyper, slot, LearningRate, Optimizer};
use crate::{AttrValue, GraphBuilder, Operation, Output, Variable};
use ferroflow_core::Result;

/// Momentum: `accum = momentum * accum + grad; var -= lr * accum` (Nesterov:
/// `var -= lr * grad + lr * momentum * accum`). Slot `<var>/Momentum`.
#[derive(Debug, Clone)]
pub struct MomentumOptimizer {
    learning_rate: LearningRate,
    momentum: f64,
    use_nesterov: bool,
}

impl MomentumOptimizer {
    /// An optimizer with this learning rate and momentum.
    pub fn new(learning_rate: impl Into<LearningRate>, momentum: f64, use_nesterov: bool) -> Self {
        MomentumOptimizer { learning_rate: learning_rate.into(), momentum, use_nesterov }
    }
}

impl Optimizer for MomentumOptimizer {
    fn name(&self) -> &str {
        "Momentum"
    }

    fn apply_dense(&mut self, g: &mut GraphBuilder, grad: Output, var: &Variable) -> Result<Operation> {
        let accum = slot(g, var, "Momentum", 0.0)?;
        let lr = hyper(g, self.learning_rate, var)?;
        let m = hyper(g, self.momentum.into(), var)?;
        apply_node(
            g,
            "ApplyMomentum",
            var,
            &[&accum],
            vec![lr, m],
            grad,
            &[("use_nesterov", AttrValue::Bool(self.use_nesterov))],
        )
    }
}
