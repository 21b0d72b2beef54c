//! Learning-rate schedules as ops on the global step (TF's `learning_rate_decay.py`).

use crate::{AttrValue, GraphBuilder, NodeSpec, Output, Variable};
use ferroflow_core::{DType, Error, PartialShape, Result};

impl GraphBuilder {
    fn schedule(&mut self, global_step: &Variable, spec: NodeSpec) -> Result<Output> {
        let spec = NodeSpec { inputs: vec![global_step.value()], ..spec }
            .attr("dtype", AttrValue::Type(DType::F32))
            .output(DType::F32, PartialShape::scalar());
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.train.exponential_decay`: `learning_rate * decay_rate ^ (global_step / decay_steps)`, the
    /// exponent floored when `staircase`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive `decay_steps`.
    pub fn exponential_decay(
        &mut self,
        learning_rate: f64,
        global_step: &Variable,
        decay_steps: u64,
        decay_rate: f64,
        staircase: bool,
    ) -> Result<Output> {
        if decay_steps == 0 {
            return Err(Error::invalid_argument("exponential_decay: decay_steps must be positive"));
        }
        let spec = NodeSpec::new("ExponentialDecay", vec![])
            .name(Some("ExponentialDecay"))
            .attr("learning_rate", AttrValue::Float(learning_rate))
            .attr("decay_steps", AttrValue::Float(decay_steps as f64))
            .attr("decay_rate", AttrValue::Float(decay_rate))
            .attr("staircase", AttrValue::Bool(staircase));
        self.schedule(global_step, spec)
    }

    /// `tf.train.polynomial_decay`: from `learning_rate` to `end_learning_rate` over `decay_steps` with
    /// exponent `power`; restarts with longer periods when `cycle`.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive `decay_steps`.
    #[allow(clippy::too_many_arguments)] // mirrors TF's signature
    pub fn polynomial_decay(
        &mut self,
        learning_rate: f64,
        global_step: &Variable,
        decay_steps: u64,
        end_learning_rate: f64,
        power: f64,
        cycle: bool,
    ) -> Result<Output> {
        if decay_steps == 0 {
            return Err(Error::invalid_argument("polynomial_decay: decay_steps must be positive"));
        }
        let spec = NodeSpec::new("PolynomialDecay", vec![])
            .name(Some("PolynomialDecay"))
            .attr("learning_rate", AttrValue::Float(learning_rate))
            .attr("decay_steps", AttrValue::Float(decay_steps as f64))
            .attr("end_learning_rate", AttrValue::Float(end_learning_rate))
            .attr("power", AttrValue::Float(power))
            .attr("cycle", AttrValue::Bool(cycle));
        self.schedule(global_step, spec)
    }

    /// `tf.train.piecewise_constant(global_step, boundaries, values)`: `values[i]` while
    /// `boundaries[i-1] < step <= boundaries[i]`.
    ///
    /// # Errors
    /// `InvalidArgument` unless there is exactly one more value than boundaries and the boundaries
    /// increase.
    pub fn piecewise_constant(
        &mut self,
        global_step: &Variable,
        boundaries: &[i64],
        values: &[f64],
    ) -> Result<Output> {
        if values.len() != boundaries.len() + 1 {
            return Err(Error::invalid_argument(format!(
                "piecewise_constant: {} values for {} boundaries; the length of values must be one more",
                values.len(),
                boundaries.len()
            )));
        }
        if boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid_argument("piecewise_constant: boundaries must increase"));
        }
        let spec = NodeSpec::new("PiecewiseConstant", vec![])
            .name(Some("PiecewiseConstant"))
            .attr("boundaries", AttrValue::Ints(boundaries.to_vec()))
            .attr("values", AttrValue::Floats(values.to_vec()));
        self.schedule(global_step, spec)
    }
}
