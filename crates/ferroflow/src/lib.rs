//! ferroflow: TensorFlow 1.x's training runtime in Rust. This facade re-exports the workspace's crates
//! under TF-like module names and adds the embedded digits data set and the reference benchmark models.
//!
//! ```
//! use ferroflow::prelude::*;
//!
//! // y = 2x + 1 by gradient descent.
//! let mut g = GraphBuilder::new();
//! let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(1)]), "x")?;
//! let y = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(1)]), "y")?;
//! let w = g.get_variable("w", &[1, 1], DType::F32, Initializer::Zeros, VariableOptions::default())?;
//! let b = g.get_variable("b", &[1], DType::F32, Initializer::Zeros, VariableOptions::default())?;
//! let xw = g.matmul(x, w.value(), false, false)?;
//! let pred = g.add(xw, b.value())?;
//! let err = g.sub(pred, y)?;
//! let sq = g.square(err)?;
//! let loss = g.reduce_mean(sq, None, false)?;
//! let train = GradientDescentOptimizer::new(0.05).minimize(&mut g, loss, None, None)?;
//! let init = g.global_variables_initializer()?;
//! let mut sess = DirectSession::new(g.finalize());
//! sess.run(init, &[])?;
//! let xs = Tensor::from_vec(&[4, 1], vec![0.0f32, 1.0, 2.0, 3.0])?;
//! let ys = Tensor::from_vec(&[4, 1], vec![1.0f32, 3.0, 5.0, 7.0])?;
//! for _ in 0..2000 {
//!     sess.run(train, &[(x, xs.clone()), (y, ys.clone())])?;
//! }
//! assert!(sess.run(loss, &[(x, xs), (y, ys)])?.scalar::<f32>()? < 1e-4);
//! # Ok::<(), ferroflow::core::Error>(())
//! ```

pub mod datasets;
mod digits_classifier;
mod reference_models;

pub use digits_classifier::{train_digits_mlp, DigitsConfig, DigitsReport};
pub use ferroflow_core as core;
pub use ferroflow_graph as graph;
pub use ferroflow_session as session;
pub use reference_models::{build_reference, reference_batch, ReferenceGraph, ReferenceModel};

/// The names most programs need.
pub mod prelude {
    pub use ferroflow_core::{Code, DType, Error, PartialShape, Result, Shape, Tensor};
    pub use ferroflow_graph::optimizer::{
        AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer,
        RMSPropOptimizer,
    };
    pub use ferroflow_graph::{
        GraphBuilder, GraphKeys, Initializer, Operation, Output, Variable, VariableOptions,
    };
    pub use ferroflow_session::{
        DirectSession, Fetch, Fetched, RunMetadata, RunOptions, Session, SessionExt, SessionOptions,
        TraceLevel,
    };
}
