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
    /// Stateful objects other than variables that the default saver also checkpoints
    /// (`saveable_objects`, as TF1's `make_saveable_from_iterator` fills it), e.g. input iterators.
    ///
    /// Each entry is a [`CollectionItem::Tensor`]: the string scalar to save. Its node carries two
    /// string attributes: [`SAVEABLE_KEY_ATTR`](Self::SAVEABLE_KEY_ATTR), the checkpoint key, and
    /// [`SAVEABLE_RESTORE_OP_ATTR`](Self::SAVEABLE_RESTORE_OP_ATTR), an op type. To restore, a saver
    /// adds a node of that op type whose inputs are the save node's inputs followed by the restored
    /// string tensor (for an iterator: `SerializeIterator(handle)` is saved and
    /// `DeserializeIterator(handle, restored)` restores). The protocol lives in node attributes
    /// because the saver's crate cannot know the crates that define saveable objects.
    pub const SAVEABLE_OBJECTS: &'static str = "saveable_objects";
    /// The attribute of a [`SAVEABLE_OBJECTS`](Self::SAVEABLE_OBJECTS) node naming its checkpoint key.
    pub const SAVEABLE_KEY_ATTR: &'static str = "_saveable_key";
    /// The attribute of a [`SAVEABLE_OBJECTS`](Self::SAVEABLE_OBJECTS) node naming the op type that
    /// restores it.
    pub const SAVEABLE_RESTORE_OP_ATTR: &'static str = "_saveable_restore_op";
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
