//! Background threads started by a session's kernels (a prefetching input pipeline), and the
//! supervisor that stops and joins them: TF1's queue-runner threads and their `Coordinator`.
//!
//! The pieces live here, below both the input pipeline (`ferroflow-data`, which starts threads) and
//! the training runtime (`ferroflow-train`, whose `Coordinator` supervises them), because neither
//! crate may depend on the other. Lifecycle:
//! 1. a kernel starts a thread and hands it to the session's [`BackgroundThreads`] with
//!    [`BackgroundThreads::adopt`], together with a function that asks it to stop;
//! 2. a supervisor is [attached](BackgroundThreads::attach) (TF1's
//!    `start_queue_runners(sess, coord)`, which `MonitoredSession` calls when it creates a session):
//!    threads adopted before and after are registered with it;
//! 3. a stop request of the supervisor calls every registered stop function; a failing thread
//!    reports its error with [`ThreadSupervisor::request_stop`]; closing the supervisor joins them.
//!
//! Without a supervisor (a plain `DirectSession`) the threads are stopped by whoever started them.

use ferroflow_core::Error;
use parking_lot::Mutex;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What stops and joins background threads (implemented by `ferroflow-train`'s `Coordinator`).
pub trait ThreadSupervisor: Send + Sync {
    /// Whether stop was requested.
    fn should_stop(&self) -> bool;

    /// Requests stop; `error`, when it is the first one reported, is what the supervised session
    /// then fails with.
    fn request_stop(&self, error: Option<Error>);

    /// Takes `thread` to join it when the session closes; `stop` is called once when stop is
    /// requested (at once if it already was). `stop` must not block.
    fn register_thread(&self, thread: JoinHandle<()>, stop: StopFn);
}

/// Asks one background thread to finish (without waiting for it).
pub type StopFn = Box<dyn FnOnce() + Send>;

/// The name of the [`BackgroundThreads`] resource in a session's `ResourceManager`.
pub const BACKGROUND_THREADS_RESOURCE: &str = "__background_threads";

#[derive(Default)]
struct State {
    supervisor: Option<Arc<dyn ThreadSupervisor>>,
    /// Adopted before a supervisor was attached.
    pending: Vec<(JoinHandle<()>, StopFn)>,
}

/// The background threads of one session, handed to its supervisor once there is one.
#[derive(Default)]
pub struct BackgroundThreads {
    state: Mutex<State>,
}

impl std::fmt::Debug for BackgroundThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("BackgroundThreads")
            .field("supervised", &s.supervisor.is_some())
            .field("pending", &s.pending.len())
            .finish()
    }
}

impl BackgroundThreads {
    /// The session's background threads (created empty on first use).
    ///
    /// # Errors
    /// `Internal` when the resource name holds something else.
    pub fn of(resources: &crate::ResourceManager) -> ferroflow_core::Result<Arc<BackgroundThreads>> {
        resources.get_or_create(BACKGROUND_THREADS_RESOURCE, || Ok(BackgroundThreads::default()))
    }

    /// The supervisor, if one is attached.
    pub fn supervisor(&self) -> Option<Arc<dyn ThreadSupervisor>> {
        self.state.lock().supervisor.clone()
    }

    /// Hands a started thread over: to the supervisor when there is one, else kept until one is
    /// attached. Returns the supervisor it went to.
    pub fn adopt(&self, thread: JoinHandle<()>, stop: StopFn) -> Option<Arc<dyn ThreadSupervisor>> {
        let mut s = self.state.lock();
        match s.supervisor.clone() {
            Some(sup) => {
                drop(s);
                // Outside the lock: a supervisor already stopped calls `stop` at once.
                sup.register_thread(thread, stop);
                Some(sup)
            }
            None => {
                // Finished threads need no joining; dropping their handles keeps re-initialized
                // iterators from piling them up.
                s.pending.retain(|(t, _)| !t.is_finished());
                s.pending.push((thread, stop));
                None
            }
        }
    }

    /// Attaches the supervisor (replacing any earlier one) and registers with it every thread adopted
    /// so far. Returns how many were handed over.
    pub fn attach(&self, supervisor: Arc<dyn ThreadSupervisor>) -> usize {
        let pending = {
            let mut s = self.state.lock();
            s.supervisor = Some(Arc::clone(&supervisor));
            std::mem::take(&mut s.pending)
        };
        let n = pending.len();
        for (thread, stop) in pending {
            supervisor.register_thread(thread, stop);
        }
        n
    }
}
