//! The frozen graph, shared by sessions.

use crate::{CollectionItem, GraphId, Node, Operation, Output, Variable};
use ferroflow_core::{DType, Error, PartialShape, Result};
use std::collections::{BTreeMap, HashMap};

/// A dataflow graph. Built by a [`GraphBuilder`](crate::GraphBuilder) and frozen by its `finalize`, then
/// shared (`Arc<Graph>`) by sessions; nothing can be added to it.
#[derive(Debug, Clone)]
pub struct Graph {
    pub(crate) id: GraphId,
    pub(crate) nodes: Vec<Node>,
    pub(crate) by_name: HashMap<String, u32>,
    pub(crate) collections: BTreeMap<String, Vec<CollectionItem>>,
    pub(crate) seed: Option<i64>,
}

impl Graph {
    pub(crate) fn new() -> Graph {
        Graph {
            id: GraphId::fresh(),
            nodes: Vec::new(),
            by_name: HashMap::new(),
            collections: BTreeMap::new(),
            seed: None,
        }
    }

    /// This graph's identity.
    pub fn id(&self) -> GraphId {
        self.id
    }

    /// All nodes, in creation order (a topological order).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The handle of node `index`.
    pub fn operation(&self, index: usize) -> Operation {
        Operation { graph: self.id, index: index as u32 }
    }

    /// The node of a handle.
    ///
    /// # Errors
    /// `InvalidArgument` when the handle belongs to another graph or is out of range.
    pub fn node(&self, op: Operation) -> Result<&Node> {
        if op.graph != self.id {
            return Err(Error::invalid_argument(format!(
                "{op} belongs to another graph ({:?}, this is {:?})",
                op.graph, self.id
            )));
        }
        self.nodes.get(op.index()).ok_or_else(|| Error::invalid_argument(format!("{op} is not in the graph")))
    }

    /// The node by name.
    pub fn operation_by_name(&self, name: &str) -> Option<Operation> {
        self.by_name.get(name).map(|&i| Operation { graph: self.id, index: i })
    }

    /// A tensor by TF name (`layer1/MatMul:0`; `name` alone means output 0).
    ///
    /// # Errors
    /// `NotFound` naming the tensor when there is no such node or output.
    pub fn output_by_name(&self, name: &str) -> Result<Output> {
        let (node, index) = match name.rsplit_once(':') {
            Some((n, i)) if i.parse::<usize>().is_ok() => (n, i.parse::<usize>().unwrap_or(0)),
            _ => (name, 0),
        };
        let op = self
            .operation_by_name(node)
            .ok_or_else(|| Error::not_found(format!("tensor '{name}' is not in the graph")))?;
        let n = self.node(op)?;
        if index >= n.output_types.len() {
            return Err(Error::not_found(format!(
                "tensor '{name}': node '{node}' has {} outputs",
                n.output_types.len()
            )));
        }
        Ok(op.output(index))
    }

    /// The dtype of an output.
    ///
    /// # Errors
    /// `InvalidArgument` for a handle of another graph or an output that does not exist.
    pub fn dtype(&self, output: Output) -> Result<DType> {
        let node = self.node(output.op())?;
        node.output_types.get(output.index()).copied().ok_or_else(|| {
            Error::invalid_argument(format!("node '{}' has no output {}", node.name, output.index()))
        })
    }

    /// The build-time shape of an output.
    ///
    /// # Errors
    /// `InvalidArgument` for a handle of another graph or an output that does not exist.
    pub fn shape(&self, output: Output) -> Result<&PartialShape> {
        let node = self.node(output.op())?;
        node.output_shapes.get(output.index()).ok_or_else(|| {
            Error::invalid_argument(format!("node '{}' has no output {}", node.name, output.index()))
        })
    }

    /// The TF name of a tensor (`node:index`), or `<invalid>`.
    pub fn output_name(&self, output: Output) -> String {
        self.node(output.op()).map_or_else(|_| "<invalid>".to_string(), |n| n.output_name(output.index()))
    }

    /// The name of a node, or `<invalid>`.
    pub fn op_name(&self, op: Operation) -> &str {
        self.node(op).map_or("<invalid>", |n| n.name.as_str())
    }

    /// The entries of a collection (empty when absent).
    pub fn collection(&self, key: &str) -> &[CollectionItem] {
        self.collections.get(key).map_or(&[], Vec::as_slice)
    }

    /// The names of all non-empty collections.
    pub fn collection_keys(&self) -> impl Iterator<Item = &str> {
        self.collections.keys().map(String::as_str)
    }

    /// The variables of a collection.
    pub fn variables_in(&self, key: &str) -> Vec<Variable> {
        self.collection(key).iter().filter_map(CollectionItem::as_variable).cloned().collect()
    }

    /// `tf.global_variables()`.
    pub fn global_variables(&self) -> Vec<Variable> {
        self.variables_in(crate::GraphKeys::GLOBAL_VARIABLES)
    }

    /// `tf.trainable_variables()`.
    pub fn trainable_variables(&self) -> Vec<Variable> {
        self.variables_in(crate::GraphKeys::TRAINABLE_VARIABLES)
    }

    /// `tf.local_variables()`.
    pub fn local_variables(&self) -> Vec<Variable> {
        self.variables_in(crate::GraphKeys::LOCAL_VARIABLES)
    }

    /// The graph-level random seed (`tf.set_random_seed`).
    pub fn seed(&self) -> Option<i64> {
        self.seed
    }
}
