//! TF1's training runtime around a session: [`MonitoredSession`] and [`SingularMonitoredSession`] with
//! [`SessionRunHook`]s, [`Scaffold`], [`SessionManager`], the [`SessionCreator`]s, the [`Coordinator`]
//! and the graph-level [`Saver`]. Behaviour follows TF 1.15 (`spec/monitored_session.md`): hook order,
//! recovery from `Aborted`/`Unavailable`, `end` only on clean exits, and TF's error messages.
//!
//! ```
//! use ferroflow_core::{Result, Tensor};
//! use ferroflow_graph::{GraphBuilder, VariableOptions};
//! use ferroflow_train::{
//!     ChiefSessionCreator, MonitoredSession, Scaffold, SessionRunArgs, SessionRunContext, SessionRunHook,
//!     SessionRunValues,
//! };
//!
//! /// Stops after the global step reaches 3 (a tiny StopAtStepHook).
//! struct StopAt3(ferroflow_graph::Output);
//! impl SessionRunHook for StopAt3 {
//!     fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
//!         Ok(Some(SessionRunArgs::new(self.0)))
//!     }
//!     fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, v: &SessionRunValues<'_>) -> Result<()> {
//!         let step = v.results.map(|r| r.scalar::<i64>()).transpose()?.unwrap_or(0);
//!         if step + 1 >= 3 {
//!             ctx.request_stop();
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let mut g = GraphBuilder::new();
//! let zero = g.constant(Tensor::scalar(0i64))?;
//! let step = g.variable("global_step", zero, VariableOptions::non_trainable())?;
//! let one = g.constant(Tensor::scalar(1i64))?;
//! let train = g.assign_add(&step, one)?;
//! let mut sess = MonitoredSession::builder(g)
//!     .session_creator(ChiefSessionCreator::new(Scaffold::new()).checkpoint_dir(dir.path()))
//!     .hook(StopAt3(step.value()))
//!     .build()?;
//! let mut runs = 0;
//! while !sess.should_stop()? {
//!     sess.run(train, &[])?;
//!     runs += 1;
//! }
//! assert_eq!(runs, 3);
//! sess.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//!
//! # Where this differs from TF1, and why
//!
//! * Python exception classes map to codes: `RuntimeError` ("Run called even after should_stop
//!   requested.", "Session is already closed.", "Init operations did not make model ready...", "More
//!   than one item in the collection ...") is `FailedPrecondition`; `ValueError` is `InvalidArgument`;
//!   "Same tensor is fed by ..." is `InvalidArgument`. Messages are TF's.
//! * `StopIteration` does not exist: [`StepContext::request_stop`] returns an `OutOfRange` error with
//!   TF's message, which [`MonitoredSession::scope`] (TF's `with` block) swallows like end of input.
//! * The graph builder is moved into the session and frozen by type, so there is no un-finalizing at
//!   close; bad `step_fn` signatures and non-scaffold `copy_from` are compile errors.
//! * Hooks' options are merged into a copy: the caller's `RunOptions` is not mutated. `RunOptions` has
//!   no debug watches or inter-op pool, so only trace level, timeout and the two flags are merged.
//! * After a recovery, `StepContext::session` is the new raw session (TF keeps the old, closed one).
//! * Dropping an open session closes it without hooks' `end` (as an error exit would).
//! * [`SessionManager`] verifies the newest checkpoint of `checkpoint_dir` and restores the newest
//!   valid one when it is damaged (TF would fail on it).
//! * `Scaffold::init_fn` takes only the session (a closure captures what it needs).
//! * There is no `QUEUE_RUNNERS` collection: the background threads to supervise are the producer
//!   threads of prefetching input pipelines, started by the iterator kernels. Every session the
//!   monitored session creates gets [`start_queue_runners`] with its coordinator, which takes the
//!   threads already running (a local init op may have started an iterator) and those started later.

mod coordinator;
pub mod hooks;
mod monitored_session;
mod monitored_training_session;
mod queue_runner;
mod saver;
mod scaffold;
mod session_creator;
mod session_manager;
mod session_run_hook;
mod session_wrappers;
#[cfg(feature = "testing")]
pub mod testing;
mod trigger;

pub use coordinator::Coordinator;
pub use monitored_session::{
    MonitoredSession, MonitoredSessionBuilder, SingularMonitoredSession, SingularMonitoredSessionBuilder,
    StepContext, STEP_FN_STOP_MESSAGE,
};
pub use monitored_training_session::{MonitoredTrainingSession, MonitoredTrainingSessionBuilder};
pub use queue_runner::start_queue_runners;
pub use saver::{Saver, SaverOptions};
pub use scaffold::Scaffold;
pub use session_creator::{ChiefSessionCreator, SessionCreator, WorkerSessionCreator};
pub use session_manager::{InitFn, PrepareSessionOptions, SessionManager, SessionManagerOptions};
pub use session_run_hook::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
pub use trigger::{Clock, Every, ManualClock, SecondOrStepTimer};
