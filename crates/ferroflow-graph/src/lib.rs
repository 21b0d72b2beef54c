//! Building TF1-style static dataflow graphs: [`GraphBuilder`] with name, device and control-dependency
//! scopes, collections, variables, op constructors with build-time shape inference, symbolic
//! [`gradients`](GraphBuilder::gradients) and optimizers. A finalized [`Graph`] is what sessions run.
//!
//! ```
//! use ferroflow_graph::{GraphBuilder, VariableOptions};
//! use ferroflow_core::{DType, PartialShape, Tensor};
//!
//! let mut g = GraphBuilder::new();
//! let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(3)]), "x")?;
//! let w0 = g.constant(Tensor::from_vec(&[3, 1], vec![0.5f32; 3])?)?;
//! let w = g.variable("w", w0, VariableOptions::default())?;
//! let y = g.matmul(x, w.value(), false, false)?;
//! assert_eq!(g.shape(y)?.to_string(), "[?,1]");
//! let grads = g.gradients(&[y], &[w.value()], None)?;
//! assert!(grads[0].is_some());
//! let graph = g.finalize();
//! assert_eq!(graph.global_variables().len(), 1);
//! # Ok::<(), ferroflow_core::Error>(())
//! ```

mod attr_value;
mod collections;
mod global_step;
pub mod gradients;
mod grads;
mod graph;
mod graph_builder;
mod graph_def;
mod handles;
mod learning_rate_decay;
mod node;
pub mod ops;
pub mod optimizer;
mod variables;

pub use attr_value::{AttrValue, Attrs};
pub use collections::{CollectionItem, GraphKeys};
pub use gradients::{register_gradient, GradientFn};
pub use graph::Graph;
pub use graph_builder::{GraphBuilder, NodeSpec};
pub use handles::{GraphId, Operation, Output};
pub use node::Node;
pub use variables::{Initializer, Variable, VariableOptions};
