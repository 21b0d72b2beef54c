//! `tf.train.AdamOptimizer`.

use super::{apply_node, hyper, LearningRate, Optimizer};
use crate::{GraphBuilder, Initializer, Operation, Output, Variable, VariableOptions};
use ferroflow_core::{DType, Result, Tensor};

/// Adam (Kingma & Ba) as TF1 implements it: slots `<var>/Adam` (m) and `<var>/Adam_1` (v), non-slot
/// variables `beta1_power` and `beta2_power` multiplied by the betas after each step.
#[derive(Debug, Clone)]
pub struct AdamOptimizer {
    learning_rate: LearningRate,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    powers: Option<(Variable, Variable)>,
}

impl AdamOptimizer {
    /// An optimizer with TF's defaults: beta1 0.9, beta2 0.999, epsilon 1e-8.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        AdamOptimizer {
            learning_rate: learning_rate.into(),
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            powers: None,
        }
    }

    /// Sets beta1, beta2 and epsilon. By default, 0.9, 0.999 and 1e-8.
    pub fn with(mut self, beta1: f64, beta2: f64, epsilon: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self.epsilon = epsilon;
        self
    }

    fn powers(&mut self, g: &mut GraphBuilder, dtype: DType) -> Result<(Variable, Variable)> {
        if let Some(p) = &self.powers {
            return Ok(p.clone());
        }
        let saved = g.name_scope_stack_for_global_step();
        let make = |g: &mut GraphBuilder, name: &str, v: f64| {
            g.get_variable(name, &[], dtype, Initializer::Constant(v), VariableOptions::non_trainable())
        };
        let p =
            make(g, "beta1_power", self.beta1).and_then(|b1| Ok((b1, make(g, "beta2_power", self.beta2)?)));
        g.restore_name_scopes(saved);
        let p = p?;
        self.powers = Some(p.clone());
        Ok(p)
    }
}

impl Optimizer for AdamOptimizer {
    fn name(&self) -> &str {
        "Adam"
    }

    fn apply_dense(&mut self, g: &mut GraphBuilder, grad: Output, var: &Variable) -> Result<Operation> {
        let (b1p, b2p) = self.powers(g, var.dtype)?;
        let m = super::slot(g, var, "Adam", 0.0)?;
        let v = super::slot(g, var, "Adam_1", 0.0)?;
        let b1p_v = if b1p.dtype == var.dtype { b1p.value() } else { g.cast(b1p.value(), var.dtype)? };
        let b2p_v = if b2p.dtype == var.dtype { b2p.value() } else { g.cast(b2p.value(), var.dtype)? };
        let lr = hyper(g, self.learning_rate, var)?;
        let b1 = hyper(g, self.beta1.into(), var)?;
        let b2 = hyper(g, self.beta2.into(), var)?;
        let eps = hyper(g, self.epsilon.into(), var)?;
        apply_node(g, "ApplyAdam", var, &[&m, &v], vec![b1p_v, b2p_v, lr, b1, b2, eps], grad, &[])
    }

    fn finish(&mut self, g: &mut GraphBuilder, updates: &[Operation]) -> Result<Vec<Operation>> {
        let Some((b1p, b2p)) = self.powers.clone() else { return Ok(updates.to_vec()) };
        let (beta1, beta2) = (self.beta1, self.beta2);
        let (u1, u2) = g.with_control_dependencies(updates, |g| {
            let c1 = g.constant(Tensor::scalar(beta1).cast(b1p.dtype)?)?;
            let n1 = g.mul(b1p.value(), c1)?;
            let u1 = g.assign(&b1p, n1)?;
            let c2 = g.constant(Tensor::scalar(beta2).cast(b2p.dtype)?)?;
            let n2 = g.mul(b2p.value(), c2)?;
            let u2 = g.assign(&b2p, n2)?;
            Ok((u1.op(), u2.op()))
        })?;
        let mut all = updates.to_vec();
        all.extend([u1, u2]);
        Ok(all)
    }
}
