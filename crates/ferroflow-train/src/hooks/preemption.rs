//! `PreemptionHook` (beyond TF1): on SIGTERM or SIGINT, finish the current step, save a checkpoint, stop
//! cleanly and record why; a second signal exits at once.

use super::{global_step_read, read_step};
use crate::{Saver, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, GraphKeys, Output};
use ferroflow_proto::{SessionLog, SessionStatus};
use ferroflow_summary::SummaryWriterCache;
use parking_lot::Mutex;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::SigId;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Why a run stopped, as recorded by a [`PreemptionHook`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A signal arrived (its number: 15 for SIGTERM, 2 for SIGINT); `checkpoint` is the prefix saved
    /// after the step that was running, if a checkpoint directory was given.
    Preempted {
        /// The signal number.
        signal: i32,
        /// The global step when the run stopped.
        step: i64,
        /// The checkpoint written on the way out.
        checkpoint: Option<PathBuf>,
    },
}

/// Watches SIGTERM and SIGINT from `begin` until the hook is dropped. After the run during which a
/// signal arrived, it saves a checkpoint to `checkpoint_dir` (with the graph's saver), writes a
/// `SessionLog STOP` event with the reason there, records a [`StopReason`] and requests a stop, so the
/// training loop ends and `close()` runs the other hooks' `end` (TF's `CheckpointSaverHook` then finds
/// the step already saved only if it saved it itself, so it may save again: harmless). A second signal
/// while the first is handled exits the process with status 1 at once (signal-hook's conditional
/// shutdown). When the hook is dropped its handlers are removed, but signal-hook leaves its own
/// dispatcher installed: a later SIGTERM/SIGINT no longer kills the process by default, so a program
/// that goes on after training should install its own handling.
///
/// ```
/// use ferroflow_train::hooks::PreemptionHook;
/// let hook = PreemptionHook::new(Some("/tmp/model".into()));
/// let reason = hook.reason();
/// assert!(reason.lock().is_none());
/// # let _ = hook;
/// ```
#[derive(Debug)]
pub struct PreemptionHook {
    checkpoint_dir: Option<PathBuf>,
    /// The last signal received (0: none); shared with the signal handlers.
    signal: Arc<AtomicUsize>,
    reason: Arc<Mutex<Option<StopReason>>>,
    ids: Vec<SigId>,
    gs: Option<Output>,
}

impl PreemptionHook {
    /// A hook saving to `checkpoint_dir` on preemption (no save with `None`).
    pub fn new(checkpoint_dir: Option<PathBuf>) -> Self {
        PreemptionHook {
            checkpoint_dir,
            signal: Arc::new(AtomicUsize::new(0)),
            reason: Arc::default(),
            ids: Vec::new(),
            gs: None,
        }
    }

    /// Why the run stopped, once it did (a shared handle: the hook moves into the session).
    pub fn reason(&self) -> Arc<Mutex<Option<StopReason>>> {
        Arc::clone(&self.reason)
    }

    /// The flag the signal handlers set (the signal number), for simulating a preemption.
    pub fn signal_flag(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.signal)
    }

    fn register(&mut self) -> Result<()> {
        let pending = Arc::new(AtomicBool::new(false));
        let err = |sig: i32, e: std::io::Error| Error::internal(format!("registering signal {sig}: {e}"));
        for sig in [SIGTERM, SIGINT] {
            // Registered before the flag setter, so it sees the flag as it was before this signal: a
            // flag already set means this is the second signal, and the process exits with status 1.
            self.ids.push(
                signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&pending))
                    .map_err(|e| err(sig, e))?,
            );
            self.ids.push(signal_hook::flag::register(sig, Arc::clone(&pending)).map_err(|e| err(sig, e))?);
            let which = usize::try_from(sig).unwrap_or(0);
            self.ids.push(
                signal_hook::flag::register_usize(sig, Arc::clone(&self.signal), which)
                    .map_err(|e| err(sig, e))?,
            );
        }
        Ok(())
    }
}

impl Drop for PreemptionHook {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

impl SessionRunHook for PreemptionHook {
    fn name(&self) -> &str {
        "PreemptionHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        if graph.global_step().is_some() {
            self.gs = Some(global_step_read(graph, "PreemptionHook")?.0);
        }
        if self.ids.is_empty() {
            self.register()?;
        }
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(None)
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, _: &SessionRunValues<'_>) -> Result<()> {
        let signal = self.signal.load(Ordering::SeqCst);
        if signal == 0 || self.reason.lock().is_some() {
            return Ok(());
        }
        let session = ctx.session();
        let step = match self.gs {
            Some(gs) => read_step(session, gs)?,
            None => 0,
        };
        let mut checkpoint = None;
        if let Some(dir) = &self.checkpoint_dir {
            let saver = match session.graph().collection(GraphKeys::SAVERS) {
                [one] => Saver::from_save_op(session.graph(), one.as_op())?,
                _ => {
                    return Err(Error::failed_precondition(
                        "PreemptionHook needs exactly one saver in the savers collection to save",
                    ))
                }
            };
            std::fs::create_dir_all(dir)?;
            checkpoint = saver.save(session, dir.join("model.ckpt"), Some(step))?;
            let msg = format!("preempted by signal {signal} at step {step}");
            let log = SessionLog { status: SessionStatus::Stop as i32, msg, ..Default::default() };
            let writer = SummaryWriterCache::get(dir)?;
            writer.add_session_log(&log, step)?;
            writer.flush()?;
        }
        tracing::warn!(signal, step, "Preemption signal received: saved a checkpoint and stopping.");
        let signal = i32::try_from(signal).unwrap_or(-1);
        *self.reason.lock() = Some(StopReason::Preempted { signal, step, checkpoint });
        ctx.request_stop();
        Ok(())
    }
}
