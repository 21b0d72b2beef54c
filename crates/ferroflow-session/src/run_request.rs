//! The flat form of one run: feeds, fetched tensors, targets and options.

use crate::{RunMetadata, RunOptions};
use ferroflow_core::Tensor;
use ferroflow_graph::{Operation, Output};

/// One run in flat form. Wrappers (hooks, recovery) merge and split these; [`SessionExt::run`] builds one
/// from nested fetches.
///
/// [`SessionExt::run`]: crate::SessionExt::run
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Tensors fed for this run, replacing their producers' values.
    pub feeds: Vec<(Output, Tensor)>,
    /// Tensors whose values are returned, in this order.
    pub fetches: Vec<Output>,
    /// Operations run for their effect.
    pub targets: Vec<Operation>,
    /// Options of the run.
    pub options: RunOptions,
}

impl RunRequest {
    /// An empty request.
    pub fn new() -> Self {
        RunRequest::default()
    }

    /// Adds a fed value.
    pub fn feed(mut self, output: Output, value: Tensor) -> Self {
        self.feeds.push((output, value));
        self
    }

    /// Adds a fetched tensor; its value is at the returned index of [`RunOutputs::values`].
    pub fn fetch(&mut self, output: Output) -> usize {
        self.fetches.push(output);
        self.fetches.len() - 1
    }

    /// Adds a target.
    pub fn target(mut self, op: Operation) -> Self {
        self.targets.push(op);
        self
    }
}

/// The results of a [`RunRequest`]: one value per fetch, in order, and the run's metadata.
#[derive(Debug, Clone, Default)]
pub struct RunOutputs {
    /// The fetched values.
    pub values: Vec<Tensor>,
    /// Step statistics when tracing was asked for.
    pub metadata: RunMetadata,
}
