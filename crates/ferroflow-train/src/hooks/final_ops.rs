//! `FinalOpsHook`: evaluates tensors at the end of the session (TF's `tf.train.FinalOpsHook`).

use crate::SessionRunHook;
use ferroflow_core::{Code, Result, Tensor};
use ferroflow_graph::Output;
use ferroflow_session::{Fetch, Fetched, Session, SessionExt};
use parking_lot::Mutex;
use std::sync::Arc;

/// Runs `final_ops` (with `feeds`) in `end` and keeps their values, readable through
/// [`values`](Self::values) — a shared handle, since the hook itself moves into the session.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::GraphBuilder;
/// use ferroflow_train::hooks::FinalOpsHook;
/// use ferroflow_train::SingularMonitoredSession;
/// let mut g = GraphBuilder::new();
/// let four = g.constant(Tensor::scalar(4i32))?;
/// let hook = FinalOpsHook::new(four, vec![]);
/// let values = hook.values();
/// let mut sess = SingularMonitoredSession::builder(g).hook(hook).build()?;
/// sess.close()?;
/// assert_eq!(values.lock().as_ref().map(|v| v.scalar::<i32>()).transpose()?, Some(4));
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct FinalOpsHook {
    final_ops: Fetch,
    feeds: Vec<(Output, Tensor)>,
    values: Arc<Mutex<Option<Fetched>>>,
}

impl FinalOpsHook {
    /// A hook running `final_ops` with `feeds` at the end.
    pub fn new(final_ops: impl Into<Fetch>, feeds: Vec<(Output, Tensor)>) -> Self {
        FinalOpsHook { final_ops: final_ops.into(), feeds, values: Arc::default() }
    }

    /// The values of the final ops once `end` ran (TF's `final_ops_values`), `None` before.
    pub fn values(&self) -> Arc<Mutex<Option<Fetched>>> {
        Arc::clone(&self.values)
    }
}

impl SessionRunHook for FinalOpsHook {
    fn name(&self) -> &str {
        "FinalOpsHook"
    }

    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        let Some(session) = session else { return Ok(()) };
        match session.run(self.final_ops.clone(), &self.feeds) {
            Ok(v) => {
                *self.values.lock() = Some(v);
                Ok(())
            }
            Err(e) => {
                if e.code() == Code::OutOfRange {
                    tracing::warn!(
                        "An OutOfRangeError or StopIteration exception is raised by the code in FinalOpsHook. \
                         This typically means the Ops running by the FinalOpsHook have a dependency back to some \
                         input source, which should not happen. For example, for metrics in tf.estimator.Estimator, \
                         all metrics functions return two Ops: `value_op` and `update_op`. Estimator.evaluate calls \
                         the `update_op` for each batch of the data in input source and, once it is exhausted, it \
                         call the `value_op` to get the metric values. The `value_op` here should have dependency \
                         back to variables reading only, rather than reading another batch from input. Otherwise, \
                         the `value_op`, executed by `FinalOpsHook`, triggers another data reading, which ends \
                         OutOfRangeError/StopIteration. Please fix that."
                    );
                }
                Err(e)
            }
        }
    }
}
