//! A node of the graph: op type, inputs, attributes, device and inferred output types.

use crate::{Attrs, Operation, Output};
use ferroflow_core::{DType, PartialShape};

/// One node (TF's `NodeDef` plus what shape inference found).
#[derive(Debug, Clone)]
pub struct Node {
    /// The unique, scoped name (`layer1/weights`).
    pub name: String,
    /// The op type (`MatMul`, `VariableV2`, ...), which selects the kernel and the gradient function.
    pub op_type: String,
    /// Data inputs.
    pub inputs: Vec<Output>,
    /// Nodes that must run before this one.
    pub control_inputs: Vec<Operation>,
    /// Attributes.
    pub attrs: Attrs,
    /// The requested device (`/job:ps/task:0`), empty when none.
    pub device: String,
    /// The dtype of each output.
    pub output_types: Vec<DType>,
    /// The shape of each output as far as it is known at build time.
    pub output_shapes: Vec<PartialShape>,
}

impl Node {
    /// The name of output `index` as TF spells it (`name:index`).
    pub fn output_name(&self, index: usize) -> String {
        format!("{}:{index}", self.name)
    }
}
