//! Op constructors, as methods of [`GraphBuilder`](crate::GraphBuilder), grouped like TF's `*_ops.py`.

pub mod array_ops;
pub mod control_flow_ops;
pub mod conv_ops;
pub mod math_ops;
pub mod nn_ops;
pub mod random_ops;
pub mod shape_fns;
pub mod state_ops;
pub mod summary_ops;
