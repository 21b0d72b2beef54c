//! Copyable handles to graph elements.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one graph, so that a handle from another graph is rejected instead of silently indexing the
/// wrong node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GraphId(u64);

impl GraphId {
    pub(crate) fn fresh() -> GraphId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        GraphId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A node of a graph (TF's `tf.Operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operation {
    pub(crate) graph: GraphId,
    pub(crate) index: u32,
}

impl Operation {
    /// The node's position in its graph; nodes are numbered in creation order.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// The graph the node belongs to.
    pub fn graph_id(self) -> GraphId {
        self.graph
    }

    /// Output `index` of this node.
    pub fn output(self, index: usize) -> Output {
        Output { op: self, index: index as u16 }
    }
}

/// One output of a node (TF's `tf.Tensor`, named `<node>:<index>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Output {
    pub(crate) op: Operation,
    pub(crate) index: u16,
}

impl Output {
    /// The node producing this output.
    pub fn op(self) -> Operation {
        self.op
    }

    /// The output's position among its node's outputs.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op#{}", self.index)
    }
}
