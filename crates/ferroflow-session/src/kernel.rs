//! The kernel interface and the registry mapping op types to kernels (TF's `OpKernel` and
//! `REGISTER_KERNEL_BUILDER`).

use crate::{ResourceManager, SessionOptions};
use ferroflow_core::{Error, Result, Tensor};
use ferroflow_graph::{Graph, Node};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The computation of one node, instantiated once per node and session.
pub trait OpKernel: Send + Sync {
    /// Computes the node's outputs from its inputs, pushing one tensor per output onto `ctx.outputs`.
    ///
    /// # Errors
    /// `InvalidArgument` for bad input values; any other code the computation needs.
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()>;
}

/// Inputs and outputs of one kernel call.
#[derive(Debug)]
pub struct OpKernelContext<'a> {
    /// The input values, owned: a kernel may take one to update it in place when no one else holds it.
    pub inputs: &'a mut Vec<Tensor>,
    /// Where the kernel pushes its outputs, in order.
    pub outputs: &'a mut Vec<Tensor>,
    /// Threads a kernel may use.
    pub threads: usize,
}

impl OpKernelContext<'_> {
    /// Input `i`.
    ///
    /// # Errors
    /// `Internal` when the node has fewer inputs.
    pub fn input(&self, i: usize) -> Result<&Tensor> {
        self.inputs.get(i).ok_or_else(|| Error::internal(format!("kernel asked for missing input {i}")))
    }

    /// Input `i` by value, leaving an empty tensor behind (for in-place updates).
    ///
    /// # Errors
    /// `Internal` when the node has fewer inputs.
    pub fn take_input(&mut self, i: usize) -> Result<Tensor> {
        let slot = self
            .inputs
            .get_mut(i)
            .ok_or_else(|| Error::internal(format!("kernel asked for missing input {i}")))?;
        Ok(std::mem::replace(slot, Tensor::zeros(ferroflow_core::DType::Bool, &[0])))
    }

    /// Pushes an output.
    pub fn output(&mut self, t: Tensor) {
        self.outputs.push(t);
    }
}

/// What a kernel factory may look at when instantiating the kernel of a node.
#[derive(Debug)]
pub struct KernelInit<'a> {
    /// The node.
    pub node: &'a Node,
    /// Its graph.
    pub graph: &'a Graph,
    /// The session's resources (variables).
    pub resources: &'a Arc<ResourceManager>,
    /// The session's options.
    pub options: &'a SessionOptions,
}

/// Creates the kernel of a node.
pub type KernelFactory = fn(&KernelInit<'_>) -> Result<Box<dyn OpKernel>>;

fn registry() -> &'static RwLock<HashMap<String, KernelFactory>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, KernelFactory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(crate::kernels::builtin()))
}

/// Registers the CPU kernel of an op type, replacing any earlier one. Crates that define ops outside this
/// one (save/restore, summaries, iterators) register their kernels through this.
pub fn register_kernel(op_type: &str, factory: KernelFactory) {
    registry().write().insert(op_type.to_string(), factory);
}

/// Instantiates the kernel of a node.
///
/// # Errors
/// `Unimplemented` naming the node when no kernel is registered for its op type; the factory's error.
pub fn create_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let factory = registry().read().get(&init.node.op_type).copied().ok_or_else(|| {
        Error::unimplemented(format!(
            "no CPU kernel registered for op type {} (node '{}')",
            init.node.op_type, init.node.name
        ))
    })?;
    factory(init).map_err(|e| e.context(format!("instantiating node '{}'", init.node.name)))
}

/// A kernel from a closure (for simple stateless kernels).
pub struct FnKernel<F>(pub F);

impl<F> OpKernel for FnKernel<F>
where
    F: Fn(&mut OpKernelContext<'_>) -> Result<()> + Send + Sync,
{
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        (self.0)(ctx)
    }
}
