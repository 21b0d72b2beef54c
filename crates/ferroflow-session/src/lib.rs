//! Running ferroflow graphs: the [`Session`] trait (TF's `tf.Session`), nested fetches ([`Fetch`],
//! [`Fetched`]), [`RunOptions`]/[`RunMetadata`], and [`DirectSession`], which prunes the graph to what a
//! run needs, caches the plan per signature, and executes CPU kernels built on `ndarray` and `gemm`.
//!
//! ```
//! use ferroflow_core::{DType, PartialShape, Tensor};
//! use ferroflow_graph::{GraphBuilder, VariableOptions};
//! use ferroflow_session::{DirectSession, SessionExt};
//!
//! let mut g = GraphBuilder::new();
//! let zero = g.constant(Tensor::scalar(0.0f32))?;
//! let v = g.variable("v", zero, VariableOptions::default())?;
//! let one = g.constant(Tensor::scalar(1.0f32))?;
//! let inc = g.assign_add(&v, one)?;
//! let init = g.global_variables_initializer()?;
//! let mut sess = DirectSession::new(g.finalize());
//! sess.run(init, &[])?;
//! sess.run(inc, &[])?;
//! assert_eq!(sess.run(v.value(), &[])?.scalar::<f32>()?, 1.0);
//! # Ok::<(), ferroflow_core::Error>(())
//! ```

mod allocator_tuning;
mod background;
mod direct_session;
mod execution_plan;
mod executor;
mod fetch;
pub mod gradient_checker;
pub mod kernel;
pub mod kernels;
mod remapper;
mod resource_manager;
mod run_options;
mod run_request;
mod session;
mod session_options;

pub use background::{BackgroundThreads, StopFn, ThreadSupervisor, BACKGROUND_THREADS_RESOURCE};
pub use direct_session::DirectSession;
pub use fetch::{Fetch, Fetched};
pub use kernel::{register_kernel, KernelFactory, KernelInit, OpKernel, OpKernelContext};
pub use resource_manager::{ResourceManager, VariableCell};
pub use run_options::{
    DeviceStepStats, NodeExecStats, NodeOutput, RunMetadata, RunOptions, StepStats, TraceLevel,
};
pub use run_request::{RunOutputs, RunRequest};
pub use session::{LocalSessionFactory, Session, SessionExt, SessionFactory};
pub use session_options::SessionOptions;
