//! `FeedFnHook`: feeds the values a function returns into every run (TF's `tf.train.FeedFnHook`).

use crate::{SessionRunArgs, SessionRunContext, SessionRunHook};
use ferroflow_core::{Result, Tensor};
use ferroflow_graph::Output;

/// Calls `feed_fn` before every run and adds its feeds to the run.
///
/// ```
/// use ferroflow_core::{DType, PartialShape, Tensor};
/// use ferroflow_graph::GraphBuilder;
/// use ferroflow_train::hooks::FeedFnHook;
/// let mut g = GraphBuilder::new();
/// let x = g.placeholder(DType::F32, PartialShape::scalar(), "x")?;
/// let hook = FeedFnHook::new(move || vec![(x, Tensor::scalar(1.0f32))]);
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct FeedFnHook {
    feed_fn: Box<dyn FnMut() -> Vec<(Output, Tensor)> + Send>,
}

impl std::fmt::Debug for FeedFnHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedFnHook").finish_non_exhaustive()
    }
}

impl FeedFnHook {
    /// A hook feeding what `feed_fn` returns.
    pub fn new(feed_fn: impl FnMut() -> Vec<(Output, Tensor)> + Send + 'static) -> Self {
        FeedFnHook { feed_fn: Box::new(feed_fn) }
    }
}

impl SessionRunHook for FeedFnHook {
    fn name(&self) -> &str {
        "FeedFnHook"
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(Some(SessionRunArgs::default().with_feeds((self.feed_fn)())))
    }
}
