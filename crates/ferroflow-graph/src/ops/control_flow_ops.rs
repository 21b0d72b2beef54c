//! `no_op`, `group`, `with_dependencies` (TF's `control_flow_ops.py`).

use crate::{GraphBuilder, NodeSpec, Operation, Output};
use ferroflow_core::Result;

impl GraphBuilder {
    /// `tf.no_op(name)`.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn no_op(&mut self, name: &str) -> Result<Operation> {
        self.add_node(NodeSpec::new("NoOp", vec![]).name(Some(name)))
    }

    /// `tf.group(*ops, name)`: an op that runs after all of `ops`.
    ///
    /// # Errors
    /// `InvalidArgument` for a handle of another graph.
    pub fn group(&mut self, ops: &[Operation], name: &str) -> Result<Operation> {
        self.add_node(NodeSpec::new("NoOp", vec![]).name(Some(name)).control(ops))
    }

    /// `tf.control_flow_ops.with_dependencies(deps, output)`: `output`'s value, produced only after
    /// `deps` ran.
    ///
    /// # Errors
    /// `InvalidArgument` for a handle of another graph.
    pub fn with_dependencies(&mut self, deps: &[Operation], output: Output) -> Result<Output> {
        let (dtype, shape) = self.input_info("Identity", output)?;
        let spec = NodeSpec::new("Identity", vec![output]).control(deps).output(dtype, shape);
        Ok(self.add_node(spec)?.output(0))
    }
}
