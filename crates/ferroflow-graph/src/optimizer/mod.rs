//! Optimizers as graph ops with slot variables (TF's `tf.train.Optimizer` family).
//!
//! Slots (`<var>/Momentum`, `<var>/Adam`, ...) are ordinary global variables, so checkpoints carry them;
//! `minimize` increments the global step in the same run, after every update.

mod adagrad;
mod adam;
mod gradient_descent;
mod momentum;
mod rmsprop;

pub use adagrad::AdagradOptimizer;
pub use adam::AdamOptimizer;
pub use gradient_descent::GradientDescentOptimizer;
pub use momentum::MomentumOptimizer;
pub use rmsprop::RMSPropOptimizer;

use crate::{AttrValue, GraphBuilder, Initializer, NodeSpec, Operation, Output, Variable, VariableOptions};
use ferroflow_core::{Error, Result, Tensor};

/// A learning rate: a constant or a tensor (a schedule on the global step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LearningRate {
    /// A fixed rate.
    Const(f64),
    /// A scalar float tensor evaluated every step.
    Tensor(Output),
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Const(v)
    }
}

impl From<Output> for LearningRate {
    fn from(o: Output) -> Self {
        LearningRate::Tensor(o)
    }
}

/// A (gradient, variable) pair as `compute_gradients` returns them; the gradient is `None` when the loss
/// does not depend on the variable.
pub type GradAndVar = (Option<Output>, Variable);

/// TF's `Optimizer`: computes gradients and adds update ops.
pub trait Optimizer {
    /// The optimizer's name, used for slot names and the update op's name (`GradientDescent`, `Adam`).
    fn name(&self) -> &str;

    /// Adds the update of one variable by its gradient; creates slots on first use.
    ///
    /// # Errors
    /// `InvalidArgument` for a gradient whose dtype or shape differs from the variable's.
    fn apply_dense(&mut self, g: &mut GraphBuilder, grad: Output, var: &Variable) -> Result<Operation>;

    /// Adds ops run after all updates, before the global step moves (Adam's beta powers).
    ///
    /// # Errors
    /// As graph building.
    fn finish(&mut self, g: &mut GraphBuilder, updates: &[Operation]) -> Result<Vec<Operation>> {
        let _ = g;
        Ok(updates.to_vec())
    }

    /// `compute_gradients(loss, var_list)`: gradients of `loss` for each variable (all trainable
    /// variables when `None`).
    ///
    /// # Errors
    /// `InvalidArgument` for a non-float loss or no variables; `Unimplemented` for an op without gradient.
    fn compute_gradients(
        &mut self,
        g: &mut GraphBuilder,
        loss: Output,
        var_list: Option<&[Variable]>,
    ) -> Result<Vec<GradAndVar>> {
        let vars = match var_list {
            Some(v) => v.to_vec(),
            None => g.trainable_variables(),
        };
        if vars.is_empty() {
            return Err(Error::invalid_argument("No variables to optimize"));
        }
        let xs: Vec<Output> = vars.iter().map(Variable::value).collect();
        let grads = g.gradients(&[loss], &xs, None)?;
        Ok(grads.into_iter().zip(vars).collect())
    }

    /// `apply_gradients(grads_and_vars, global_step)`: one op running every update; when a global step
    /// is given, the returned op increments it after all updates (so one run trains and counts).
    ///
    /// # Errors
    /// `InvalidArgument` when no variable has a gradient, naming the variables.
    fn apply_gradients(
        &mut self,
        g: &mut GraphBuilder,
        grads_and_vars: &[GradAndVar],
        global_step: Option<&Variable>,
    ) -> Result<Operation> {
        let with_grads: Vec<(Output, &Variable)> =
            grads_and_vars.iter().filter_map(|(gr, v)| gr.map(|gr| (gr, v))).collect();
        if with_grads.is_empty() {
            let names: Vec<&str> = grads_and_vars.iter().map(|(_, v)| v.name.as_str()).collect();
            return Err(Error::invalid_argument(format!(
                "No gradients provided for any variable, check your graph for ops that do not support gradients, between variables {names:?} and the loss"
            )));
        }
        let name = self.name().to_string();
        g.push_name_scope(&name);
        let result = (|| {
            let mut updates = Vec::with_capacity(with_grads.len());
            for (grad, var) in with_grads {
                updates.push(self.apply_dense(g, grad, var)?);
            }
            let finished = self.finish(g, &updates)?;
            match global_step {
                None => g.group(&finished, "update"),
                Some(step) => {
                    let update = g.group(&finished, "update")?;
                    g.with_control_dependencies(&[update], |g| {
                        let one = g.constant(Tensor::scalar(1i64).cast(step.dtype)?)?;
                        Ok(g.assign_add(step, one)?.op())
                    })
                }
            }
        })();
        g.pop_name_scope();
        result
    }

    /// `minimize(loss, global_step, var_list)`: `compute_gradients` then `apply_gradients`.
    ///
    /// # Errors
    /// As those two.
    fn minimize(
        &mut self,
        g: &mut GraphBuilder,
        loss: Output,
        global_step: Option<&Variable>,
        var_list: Option<&[Variable]>,
    ) -> Result<Operation> {
        let grads = self.compute_gradients(g, loss, var_list)?;
        self.apply_gradients(g, &grads, global_step)
    }
}

/// The learning rate (or another hyperparameter) as a scalar tensor of the variable's dtype.
pub(crate) fn hyper(g: &mut GraphBuilder, value: LearningRate, var: &Variable) -> Result<Output> {
    match value {
        LearningRate::Const(v) => g.constant(Tensor::scalar(v).cast(var.dtype)?),
        LearningRate::Tensor(t) => {
            if g.dtype(t)? == var.dtype {
                Ok(t)
            } else {
                g.cast(t, var.dtype)
            }
        }
    }
}

/// A zero- (or constant-) initialized slot variable `<var>/<slot>` with the variable's shape.
pub(crate) fn slot(g: &mut GraphBuilder, var: &Variable, slot: &str, init: f64) -> Result<Variable> {
    let name = format!("{}/{slot}", var.name);
    if let Some(existing) = g.global_variables().into_iter().find(|v| v.name == name) {
        return Ok(existing);
    }
    let saved = g.name_scope_stack_for_global_step();
    let v = g.get_variable(
        &name,
        var.shape.dims(),
        var.dtype,
        Initializer::Constant(init),
        VariableOptions::non_trainable(),
    );
    g.restore_name_scopes(saved);
    v
}

/// Adds an `Apply*` node updating `var` (and its slots) from hyperparameter scalars and the gradient.
pub(crate) fn apply_node(
    g: &mut GraphBuilder,
    op_type: &str,
    var: &Variable,
    slots: &[&Variable],
    mut inputs: Vec<Output>,
    grad: Output,
    attrs: &[(&str, AttrValue)],
) -> Result<Operation> {
    let (gd, gs) = (g.dtype(grad)?, g.shape(grad)?.clone());
    if gd != var.dtype {
        return Err(Error::invalid_argument(format!(
            "gradient for variable '{}' has dtype {gd}, the variable {}",
            var.name, var.dtype
        )));
    }
    if !gs.is_compatible_with(var.shape.dims()) && gs.merge(&var.shape.clone().into()).is_err() {
        return Err(Error::invalid_argument(format!(
            "gradient for variable '{}' has shape {gs}, the variable {}",
            var.name, var.shape
        )));
    }
    inputs.push(grad);
    let mut spec = NodeSpec::new(op_type, inputs)
        .attr("var", AttrValue::Str(var.name.clone()))
        .attr("T", AttrValue::Type(var.dtype))
        .output(var.dtype, var.shape.clone().into());
    if !slots.is_empty() {
        spec = spec.attr("slots", AttrValue::Strs(slots.iter().map(|s| s.name.clone()).collect()));
    }
    for (k, v) in attrs {
        spec = spec.attr(k, v.clone());
    }
    g.add_node(spec)
}
