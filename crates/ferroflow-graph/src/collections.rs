//! Graph collections: named lists of variables, tensors and ops (TF's `tf.GraphKeys`).

use crate::{Operation, Output, Variable};

/// The standard collection names of `tf.GraphKeys`.
#[derive(Debug, Clone, Copy)]
pub struct GraphKeys;

impl GraphKeys {
    /// Every variable to save and restore (`variables`).
    pub const GLOBAL_VARIABLES: &'static str = "variables";
    /// Variables the optimizers train by default.
    pub const TRAINABLE_VARIABLES: &'static str = "trainable_variables";
    /// Per-process variables, not saved (`local_variables`).
    pub const LOCAL_VARIABLES: &'static str = "local_variables";
    /// Variables for moving averages.
    pub const MOVING_AVERAGE_VARIABLES: &'static str = "moving_average_variables";
    /// Summary ops, merged by `merge_all`.
    pub const SUMMARIES: &'static str = "summaries";
    /// Ops to run with each training step (batch-norm moving averages).
    pub const UPDATE_OPS: &'static str = "update_ops";
    /// The global step variable.
    pub const GLOBAL_STEP: &'static str = "global_step";
    /// Losses added by layers.
    pub const LOSSES: &'static str = "losses";
    /// The training op.
    pub const TRAIN_OP: &'static str = "train_op";
    /// Savers (used by `Scaffold` to find a default saver).
    pub const SAVERS: &'static str = "savers";
    /// The init op.
    pub const INIT_OP: &'static str = "init_op";
    /// The local init op.
    pub const LOCAL_INIT_OP: &'static str = "local_init_op";
    /// The ready op.
    pub const READY_OP: &'static str = "ready_op";
    /// The ready-for-local-init op.
    pub const READY_FOR_LOCAL_INIT_OP: &'static str = "ready_for_local_init_op";
    /// The summary op.
    pub const SUMMARY_OP: &'static str = "summary_op";
    /// Table initializers, run by the default local init op.
    pub const TABLE_INITIALIZERS: &'static str = "table_initializer";
}

/// One entry of a collection.
#[derive(Debug, Clone, PartialEq)]
pub enum CollectionItem {
    /// An operation.
    Op(Operation),
    /// A tensor.
    Tensor(Output),
    /// A variable.
    Variable(Variable),
}

impl CollectionItem {
    /// The variable, if this entry is one.
    pub fn as_variable(&self) -> Option<&Variable> {
        match self {
            CollectionItem::Variable(v) => Some(v),
            _ => None,
        }
    }

    /// The tensor, if this entry is one (a variable counts as its value).
    pub fn as_tensor(&self) -> Option<Output> {
        match self {
            CollectionItem::Tensor(t) => Some(*t),
            CollectionItem::Variable(v) => Some(v.value()),
            CollectionItem::Op(_) => None,
        }
    }

    /// The operation, if this entry is one (a tensor or variable counts as its node).
    pub fn as_op(&self) -> Operation {
        match self {
            CollectionItem::Op(o) => *o,
            CollectionItem::Tensor(t) => t.op(),
            CollectionItem::Variable(v) => v.op,
        }
    }
}
