//! `GraphBuilder`: the mutable graph under construction (TF's default `tf.Graph` before `finalize()`).

use crate::{Attrs, CollectionItem, Graph, Node, Operation, Output};
use ferroflow_core::{DType, Error, PartialShape, Result};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

/// What a new node is: everything but its final name and the scoped control dependencies and device.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Op type, selecting kernel and gradient.
    pub op_type: String,
    /// Requested name; made unique and prefixed with the name scope. Defaults to the op type. A name
    /// ending in `/` is taken exactly (TF's convention for naming a node after its scope).
    pub name: Option<String>,
    /// Data inputs.
    pub inputs: Vec<Output>,
    /// Extra control inputs (besides those of enclosing control-dependency scopes).
    pub control_inputs: Vec<Operation>,
    /// Attributes.
    pub attrs: Attrs,
    /// Output dtypes.
    pub output_types: Vec<DType>,
    /// Output shapes as inferred.
    pub output_shapes: Vec<PartialShape>,
}

impl NodeSpec {
    /// A node of this op type with these inputs and no outputs yet.
    pub fn new(op_type: &str, inputs: Vec<Output>) -> NodeSpec {
        NodeSpec {
            op_type: op_type.to_string(),
            name: None,
            inputs,
            control_inputs: Vec::new(),
            attrs: Attrs::new(),
            output_types: Vec::new(),
            output_shapes: Vec::new(),
        }
    }

    /// Sets the requested name.
    pub fn name(mut self, name: Option<&str>) -> Self {
        self.name = name.map(str::to_string);
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &str, value: crate::AttrValue) -> Self {
        self.attrs.set(name, value);
        self
    }

    /// Adds an output.
    pub fn output(mut self, dtype: DType, shape: PartialShape) -> Self {
        self.output_types.push(dtype);
        self.output_shapes.push(shape);
        self
    }

    /// Adds control inputs.
    pub fn control(mut self, ops: &[Operation]) -> Self {
        self.control_inputs.extend_from_slice(ops);
        self
    }
}

/// Builds a graph: adds nodes under name scopes, device scopes and control-dependency scopes, keeps
/// collections, and freezes into an `Arc<Graph>` with [`finalize`](GraphBuilder::finalize).
///
/// It dereferences to the [`Graph`] built so far, for lookups.
#[derive(Debug)]
pub struct GraphBuilder {
    graph: Graph,
    name_scopes: Vec<String>,
    devices: Vec<String>,
    control_scopes: Vec<Vec<Operation>>,
    names_in_use: HashMap<String, usize>,
    finalized: bool,
    last_seed_id: i64,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        GraphBuilder::new()
    }
}

impl Deref for GraphBuilder {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.graph
    }
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> GraphBuilder {
        GraphBuilder {
            graph: Graph::new(),
            name_scopes: Vec::new(),
            devices: Vec::new(),
            control_scopes: Vec::new(),
            names_in_use: HashMap::new(),
            finalized: false,
            last_seed_id: 0,
        }
    }

    /// The graph built so far.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Freezes the graph (TF's `Graph.finalize()`): later additions fail with `FailedPrecondition`, and the
    /// frozen graph is returned for sessions. Calling it again returns the same graph.
    pub fn finalize(&mut self) -> Arc<Graph> {
        self.finalized = true;
        Arc::new(self.graph.clone())
    }

    /// Whether [`finalize`](Self::finalize) has been called.
    pub fn is_finalized(&self) -> bool {
        self.finalized
    }

    fn check_not_finalized(&self) -> Result<()> {
        if self.finalized {
            return Err(Error::failed_precondition("Graph is finalized and cannot be modified"));
        }
        Ok(())
    }

    /// Sets the graph-level random seed (`tf.set_random_seed`).
    pub fn set_random_seed(&mut self, seed: i64) {
        self.graph.seed = Some(seed);
    }

    /// The (seed, seed2) pair for a random op, following `tf.random.get_seed`: with a graph seed and no
    /// op seed the op seed is a per-graph counter; with only an op seed the graph seed is TF's default
    /// 87654321; with neither, both are 0 (nondeterministic).
    pub fn random_seeds(&mut self, op_seed: Option<i64>) -> (i64, i64) {
        const DEFAULT_GRAPH_SEED: i64 = 87654321;
        self.last_seed_id += 1;
        match (self.graph.seed, op_seed) {
            (Some(g), Some(o)) => (g, o),
            (Some(g), None) => (g, self.last_seed_id),
            (None, Some(o)) => (DEFAULT_GRAPH_SEED, o),
            (None, None) => (0, 0),
        }
    }

    /// The current name scope with a trailing `/`, or empty at the top.
    pub fn current_name_scope(&self) -> String {
        self.name_scopes.last().map(|s| format!("{s}/")).unwrap_or_default()
    }

    /// A name not yet used in the graph: `scope/base`, else `scope/base_1`, `scope/base_2`, ... (TF's
    /// `Graph.unique_name`). Marks it used.
    pub fn unique_name(&mut self, base: &str) -> String {
        let full = format!("{}{base}", self.current_name_scope());
        let count = self.names_in_use.get(&full).copied().unwrap_or(0);
        let mut name = full.clone();
        if count > 0 {
            let mut i = count;
            name = format!("{full}_{i}");
            while self.names_in_use.contains_key(&name) {
                i += 1;
                name = format!("{full}_{i}");
            }
            self.names_in_use.insert(full, i + 1);
        } else {
            self.names_in_use.insert(full, 1);
        }
        self.names_in_use.entry(name.clone()).or_insert(1);
        name
    }

    /// Opens a name scope (a unique one: a second `layer1` becomes `layer1_1`); pair with
    /// [`pop_name_scope`](Self::pop_name_scope). Returns the full scope name.
    pub fn push_name_scope(&mut self, name: &str) -> String {
        let scoped = self.unique_name(name);
        self.name_scopes.push(scoped.clone());
        scoped
    }

    /// Closes the innermost name scope.
    pub fn pop_name_scope(&mut self) {
        self.name_scopes.pop();
    }

    /// Runs `f` inside a name scope (`tf.name_scope`).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with_name_scope<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.push_name_scope(name);
        let out = f(self);
        self.pop_name_scope();
        out
    }

    /// Runs `f` inside the scope named exactly `full_name` (TF's `name_scope("name/")`), reusing a scope
    /// that already exists, such as a variable's own name for its `Assign`.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with_exact_scope<T>(
        &mut self,
        full_name: &str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.name_scopes.push(full_name.trim_end_matches('/').to_string());
        let out = f(self);
        self.name_scopes.pop();
        out
    }

    /// Takes the name-scope stack, so that a node can be created at the top level (the global step).
    pub(crate) fn name_scope_stack_for_global_step(&mut self) -> Vec<String> {
        std::mem::take(&mut self.name_scopes)
    }

    /// Puts back a stack taken by [`Self::name_scope_stack_for_global_step`].
    pub(crate) fn restore_name_scopes(&mut self, scopes: Vec<String>) {
        self.name_scopes = scopes;
    }

    /// Runs `f` with nodes placed on a device (`tf.device`); the innermost scope wins.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with_device<T>(&mut self, device: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.devices.push(device.to_string());
        let out = f(self);
        self.devices.pop();
        out
    }

    /// Runs `f` with every new node depending on `ops` (`tf.control_dependencies`).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with_control_dependencies<T>(
        &mut self,
        ops: &[Operation],
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.control_scopes.push(ops.to_vec());
        let out = f(self);
        self.control_scopes.pop();
        out
    }

    /// The device of the innermost device scope, empty when none.
    pub fn current_device(&self) -> &str {
        self.devices.last().map_or("", String::as_str)
    }

    /// Adds a node. The name is made unique under the current name scope; control dependencies and the
    /// device of the enclosing scopes are applied.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`; `InvalidArgument` when an input belongs to another graph or
    /// does not exist, naming the node.
    pub fn add_node(&mut self, spec: NodeSpec) -> Result<Operation> {
        self.check_not_finalized()?;
        let base = spec.name.clone().unwrap_or_else(|| spec.op_type.clone());
        for input in &spec.inputs {
            self.graph.dtype(*input).map_err(|e| e.context(format!("adding node '{base}'")))?;
        }
        let mut control_inputs = spec.control_inputs;
        for scope in &self.control_scopes {
            control_inputs.extend_from_slice(scope);
        }
        for c in &control_inputs {
            self.graph.node(*c).map_err(|e| e.context(format!("adding node '{base}'")))?;
        }
        control_inputs.sort();
        control_inputs.dedup();
        // As in TF, a name ending in '/' is an exact, already reserved name (a scope's own name).
        let name = match base.strip_suffix('/') {
            Some(exact) => exact.to_string(),
            None => self.unique_name(&base),
        };
        if self.graph.by_name.contains_key(&name) {
            return Err(Error::invalid_argument(format!("duplicate node name '{name}'")));
        }
        let index = u32::try_from(self.graph.nodes.len())
            .map_err(|_| Error::resource_exhausted("graph has too many nodes"))?;
        self.graph.by_name.insert(name.clone(), index);
        self.graph.nodes.push(Node {
            name,
            op_type: spec.op_type,
            inputs: spec.inputs,
            control_inputs,
            attrs: spec.attrs,
            device: self.current_device().to_string(),
            output_types: spec.output_types,
            output_shapes: spec.output_shapes,
        });
        Ok(Operation { graph: self.graph.id, index })
    }

    /// Adds an entry to a collection (`tf.add_to_collection`).
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn add_to_collection(&mut self, key: &str, item: CollectionItem) -> Result<()> {
        self.check_not_finalized()?;
        self.graph.collections.entry(key.to_string()).or_default().push(item);
        Ok(())
    }

    /// Replaces a collection's entries.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn set_collection(&mut self, key: &str, items: Vec<CollectionItem>) -> Result<()> {
        self.check_not_finalized()?;
        self.graph.collections.insert(key.to_string(), items);
        Ok(())
    }

    /// The dtype and shape of an input, or an `InvalidArgument` naming the node being built.
    pub(crate) fn input_info(&self, what: &str, input: Output) -> Result<(DType, PartialShape)> {
        let dtype = self.graph.dtype(input).map_err(|e| e.context(what.to_string()))?;
        let shape = self.graph.shape(input).map_err(|e| e.context(what.to_string()))?.clone();
        Ok((dtype, shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> NodeSpec {
        NodeSpec::new("NoOp", Vec::new()).name(Some(name))
    }

    #[test]
    fn names_are_unique_and_scoped() -> Result<()> {
        let mut g = GraphBuilder::new();
        let a = g.add_node(spec("a"))?;
        let a1 = g.add_node(spec("a"))?;
        let w = g.with_name_scope("layer1", |g| g.add_node(spec("weights")))?;
        let w2 = g.with_name_scope("layer1", |g| g.add_node(spec("weights")))?;
        assert_eq!(g.op_name(a), "a");
        assert_eq!(g.op_name(a1), "a_1");
        assert_eq!(g.op_name(w), "layer1/weights");
        assert_eq!(g.op_name(w2), "layer1_1/weights");
        let nested = g.with_name_scope("outer", |g| g.with_name_scope("inner", |g| g.add_node(spec("x"))))?;
        assert_eq!(g.op_name(nested), "outer/inner/x");
        Ok(())
    }

    #[test]
    fn devices_and_control_dependencies_are_recorded() -> Result<()> {
        let mut g = GraphBuilder::new();
        let a = g.add_node(spec("a"))?;
        let b = g.with_device("/job:ps/task:0", |g| {
            g.with_control_dependencies(&[a], |g| g.add_node(spec("b")))
        })?;
        let node = g.node(b)?;
        assert_eq!(node.device, "/job:ps/task:0");
        assert_eq!(node.control_inputs, vec![a]);
        Ok(())
    }

    #[test]
    fn finalize_freezes() -> Result<()> {
        let mut g = GraphBuilder::new();
        g.add_node(spec("a"))?;
        let frozen = g.finalize();
        assert_eq!(frozen.len(), 1);
        let err = g.add_node(spec("b")).unwrap_err();
        assert_eq!(err.code(), ferroflow_core::Code::FailedPrecondition);
        Ok(())
    }

    #[test]
    fn handles_of_other_graphs_are_rejected() -> Result<()> {
        let mut g1 = GraphBuilder::new();
        let mut g2 = GraphBuilder::new();
        let a = g1.add_node(spec("a").output(DType::F32, PartialShape::scalar()))?;
        let err = g2.add_node(NodeSpec::new("Identity", vec![a.output(0)])).unwrap_err();
        assert_eq!(err.code(), ferroflow_core::Code::InvalidArgument);
        Ok(())
    }
}
