//! Assignments to variables (TF's `state_ops.py`).

use crate::{AttrValue, GraphBuilder, NodeSpec, Operation, Output, Variable};
use ferroflow_core::{Error, Result};

impl GraphBuilder {
    /// `tf.assign(var, value)`: sets the variable; the output is the new value.
    ///
    /// # Errors
    /// `InvalidArgument` when dtype or shape differ from the variable's, naming it.
    pub fn assign(&mut self, var: &Variable, value: Output) -> Result<Output> {
        self.assign_named(var.op, &var.name, value, "Assign")
    }

    /// `tf.assign_add(var, value)`.
    ///
    /// # Errors
    /// `InvalidArgument` when dtype or shape differ from the variable's.
    pub fn assign_add(&mut self, var: &Variable, value: Output) -> Result<Output> {
        self.assign_named(var.op, &var.name, value, "AssignAdd")
    }

    /// `tf.assign_sub(var, value)`.
    ///
    /// # Errors
    /// `InvalidArgument` when dtype or shape differ from the variable's.
    pub fn assign_sub(&mut self, var: &Variable, value: Output) -> Result<Output> {
        self.assign_named(var.op, &var.name, value, "AssignSub")
    }

    pub(crate) fn assign_named(
        &mut self,
        var_op: Operation,
        var_name: &str,
        value: Output,
        op_type: &str,
    ) -> Result<Output> {
        let var_dtype = self.dtype(var_op.output(0))?;
        let var_shape = self.shape(var_op.output(0))?.clone();
        let (dtype, shape) = self.input_info(op_type, value)?;
        if dtype != var_dtype {
            return Err(Error::invalid_argument(format!(
                "{op_type} to variable '{var_name}': value has dtype {dtype}, the variable {var_dtype}"
            )));
        }
        var_shape.merge(&shape).map_err(|_| {
            Error::invalid_argument(format!(
                "{op_type} to variable '{var_name}': value has shape {shape}, the variable {var_shape}"
            ))
        })?;
        let spec = NodeSpec::new(op_type, vec![value])
            .attr("var", AttrValue::Str(var_name.to_string()))
            .attr("T", AttrValue::Type(dtype))
            .output(dtype, var_shape);
        Ok(self.add_node(spec)?.output(0))
    }
}
