//! `NanTensorHook`: stops (or fails, or rolls back) when the loss is NaN (TF's `tf.train.NanTensorHook`,
//! plus a rollback option beyond TF).

use super::f64_of;
use crate::{Saver, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Code, Error, Result};
use ferroflow_graph::{GraphKeys, Output};
use std::path::PathBuf;

/// The message of the error raised on a NaN loss (TF's `NanLossDuringTrainingError`).
pub const NAN_LOSS_MESSAGE: &str = "NaN loss during training.";

/// What to do on a NaN loss. One enum instead of TF's `fail_on_nan_loss` flag, with a third choice.
#[derive(Debug, Clone, PartialEq)]
pub enum OnNan {
    /// Fail the run with `Internal` "NaN loss during training." (TF's default).
    Fail,
    /// Log a warning and request a stop (TF's `fail_on_nan_loss=False`).
    Stop,
    /// Restore the latest checkpoint of `checkpoint_dir` (with the graph's saver) and go on, which skips
    /// the batch that produced the NaN; after `max_rollbacks` rollbacks, fail as [`OnNan::Fail`]. Without
    /// a checkpoint to restore, fails at once. Put the hook before the `CheckpointSaverHook` (with
    /// `MonitoredTrainingSession`: among `chief_only_hooks`), so a NaN step is rolled back before the
    /// saver could save it.
    Rollback {
        /// Where the checkpoints are.
        checkpoint_dir: PathBuf,
        /// How many rollbacks to allow before failing.
        max_rollbacks: usize,
    },
}

/// Watches a loss tensor and acts on NaN, as [`OnNan`] says.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::GraphBuilder;
/// use ferroflow_train::hooks::{NanTensorHook, OnNan};
/// let mut g = GraphBuilder::new();
/// let loss = g.constant(Tensor::scalar(1.0f32))?;
/// let hook = NanTensorHook::new(loss, OnNan::Fail);
/// assert_eq!(hook.rollbacks(), 0);
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct NanTensorHook {
    loss: Output,
    on_nan: OnNan,
    rollbacks: usize,
}

impl NanTensorHook {
    /// A hook watching `loss`.
    pub fn new(loss: Output, on_nan: OnNan) -> Self {
        NanTensorHook { loss, on_nan, rollbacks: 0 }
    }

    /// How many rollbacks were made.
    pub fn rollbacks(&self) -> usize {
        self.rollbacks
    }
}

fn nan_error() -> Error {
    Error::new(Code::Internal, NAN_LOSS_MESSAGE)
}

impl SessionRunHook for NanTensorHook {
    fn name(&self) -> &str {
        "NanTensorHook"
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(Some(SessionRunArgs::new(self.loss)))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let Some(r) = values.results else { return Ok(()) };
        // Any NaN element counts, as numpy's `isnan(loss)` on a tensor loss would.
        let t = r.tensor()?;
        let is_nan = match t.to_vec::<f32>() {
            Ok(v) => v.iter().any(|x| x.is_nan()),
            Err(_) => f64_of(r)?.is_nan(),
        };
        if !is_nan {
            return Ok(());
        }
        match &self.on_nan {
            OnNan::Fail => {
                tracing::error!("Model diverged with loss = NaN.");
                Err(nan_error())
            }
            OnNan::Stop => {
                tracing::warn!("Model diverged with loss = NaN.");
                ctx.request_stop();
                Ok(())
            }
            OnNan::Rollback { checkpoint_dir, max_rollbacks } => {
                if self.rollbacks >= *max_rollbacks {
                    tracing::error!(rollbacks = self.rollbacks, "Model diverged with loss = NaN; giving up.");
                    return Err(nan_error());
                }
                let Some(ckpt) = Saver::latest_checkpoint(checkpoint_dir)? else {
                    tracing::error!(
                        "Model diverged with loss = NaN and there is no checkpoint to roll back to."
                    );
                    return Err(nan_error());
                };
                let session = ctx.session();
                let save_op = match session.graph().collection(GraphKeys::SAVERS) {
                    [one] => one.as_op(),
                    _ => {
                        return Err(Error::failed_precondition(
                            "NanTensorHook rollback needs exactly one saver in the savers collection",
                        ))
                    }
                };
                let saver = Saver::from_save_op(session.graph(), save_op)?;
                saver.restore(session, &ckpt)?;
                self.rollbacks += 1;
                tracing::warn!(
                    checkpoint = %ckpt.display(),
                    rollbacks = self.rollbacks,
                    "Model diverged with loss = NaN; restored the last checkpoint and skipped the batch."
                );
                Ok(())
            }
        }
    }
}
