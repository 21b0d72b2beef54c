//! `Coordinator`: a stop flag, the first error reported, and the threads to join (TF's `coordinator.py`).

use ferroflow_core::{Code, Error, Result};
use ferroflow_session::{StopFn, ThreadSupervisor};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Coordinates the termination of a set of threads (TF's `tf.train.Coordinator`).
///
/// Any thread may [`request_stop`](Self::request_stop), optionally with an error; only the first error
/// is kept. [`join`](Self::join) waits for the registered threads and then returns that error.
/// A `MonitoredSession` creates one per underlying session with no clean-stop codes, so every reported
/// error counts.
///
/// ```
/// use ferroflow_train::Coordinator;
/// use ferroflow_core::Error;
/// let coord = Coordinator::new();
/// coord.request_stop(Some(Error::unknown("worker died")))?;
/// coord.request_stop(Some(Error::aborted("ignored: stop already requested")))?;
/// assert!(coord.should_stop());
/// assert_eq!(coord.raise_requested_exception().unwrap_err().message(), "worker died");
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Coordinator {
    clean_stop_codes: Vec<Code>,
    stop: AtomicBool,
    state: Mutex<State>,
    stopped: Condvar,
}

#[derive(Default)]
struct State {
    error: Option<Error>,
    joined: bool,
    threads: Vec<Registered>,
}

struct Registered {
    thread: JoinHandle<()>,
    /// Called once at the next stop request (TF's queue runners' cancel ops).
    stop: Option<StopFn>,
}

impl Registered {
    fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("error", &self.error)
            .field("joined", &self.joined)
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Default for Coordinator {
    fn default() -> Self {
        Coordinator::new()
    }
}

impl Coordinator {
    /// A coordinator for which `OutOfRange` is a clean stop (TF's default `clean_stop_exception_types`).
    pub fn new() -> Self {
        Coordinator::with_clean_stop_codes(vec![Code::OutOfRange])
    }

    /// A coordinator with the given clean-stop codes: errors with these codes stop without being recorded.
    pub fn with_clean_stop_codes(codes: Vec<Code>) -> Self {
        Coordinator {
            clean_stop_codes: codes,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            stopped: Condvar::new(),
        }
    }

    /// Requests that the threads stop, recording `error` if it is the first one and stop was not yet
    /// requested (later errors are dropped).
    ///
    /// # Errors
    /// After [`join`](Self::join), a given error is returned at once (TF re-raises it).
    pub fn request_stop(&self, error: Option<Error>) -> Result<()> {
        let error = error.filter(|e| !self.clean_stop_codes.contains(&e.code()));
        let mut state = self.state.lock();
        if state.joined {
            if let Some(e) = error {
                return Err(e);
            }
        }
        let mut on_stop = Vec::new();
        if !self.stop.load(Ordering::Acquire) {
            if state.error.is_none() {
                if let Some(e) = error {
                    tracing::info!(error = %e, "error reported to the coordinator");
                    state.error = Some(e);
                }
            }
            self.stop.store(true, Ordering::Release);
            self.stopped.notify_all();
            on_stop = state.threads.iter_mut().filter_map(|r| r.stop.take()).collect();
        }
        drop(state);
        // Outside the lock: a stop function may wake a thread that reports to this coordinator.
        for f in on_stop {
            f();
        }
        Ok(())
    }

    /// Clears the stop flag and the recorded error so that the coordinator can be used again.
    pub fn clear_stop(&self) {
        let mut state = self.state.lock();
        state.joined = false;
        state.error = None;
        self.stop.store(false, Ordering::Release);
    }

    /// Whether stop was requested.
    pub fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Waits until stop is requested or `timeout` passes (`None`: forever). Returns [`should_stop`].
    ///
    /// [`should_stop`]: Self::should_stop
    pub fn wait_for_stop(&self, timeout: Option<Duration>) -> bool {
        let mut state = self.state.lock();
        let deadline = timeout.map(|t| Instant::now() + t);
        while !self.should_stop() {
            match deadline {
                Some(d) => {
                    if self.stopped.wait_until(&mut state, d).timed_out() {
                        break;
                    }
                }
                None => self.stopped.wait(&mut state),
            }
        }
        self.should_stop()
    }

    /// Returns the recorded error, if any (a copy: the error stays recorded).
    ///
    /// # Errors
    /// The recorded error.
    pub fn raise_requested_exception(&self) -> Result<()> {
        if !self.should_stop() {
            // Fast path: an error is only ever recorded together with the stop flag.
            return Ok(());
        }
        match &self.state.lock().error {
            Some(e) => Err(e.duplicate()),
            None => Ok(()),
        }
    }

    /// Registers a thread for [`join`](Self::join).
    pub fn register_thread(&self, thread: JoinHandle<()>) {
        self.state.lock().threads.push(Registered { thread, stop: None });
    }

    /// Registers a thread for [`join`](Self::join) together with the function that asks it to stop,
    /// called once at the next stop request, or at once when stop was already requested (TF1 runs a
    /// queue runner's cancel op when its coordinator stops).
    pub fn register_stoppable_thread(&self, thread: JoinHandle<()>, stop: StopFn) {
        let mut state = self.state.lock();
        // Threads that already ended need no joining; dropping them keeps a coordinator that outlives
        // many re-initialized iterators small.
        state.threads.retain(|r| !r.is_finished());
        if self.should_stop() {
            state.threads.push(Registered { thread, stop: None });
            drop(state);
            stop();
        } else {
            state.threads.push(Registered { thread, stop: Some(stop) });
        }
    }

    /// Waits until every registered thread has finished or stop was requested, then gives the threads
    /// `stop_grace_period` to finish, and returns the recorded error if any.
    ///
    /// # Errors
    /// The recorded error; otherwise, with threads still running after the grace period and
    /// `ignore_live_threads` false, `Internal` naming how many ("Coordinator stopped with threads still
    /// running").
    pub fn join(&self, stop_grace_period: Duration, ignore_live_threads: bool) -> Result<()> {
        let all_done = |s: &State| s.threads.iter().all(Registered::is_finished);
        {
            let mut state = self.state.lock();
            while !all_done(&state) && !self.should_stop() {
                let _ = self.stopped.wait_for(&mut state, Duration::from_secs(1));
            }
        }
        let deadline = Instant::now() + stop_grace_period;
        let mut backoff = Duration::from_millis(1);
        loop {
            if all_done(&self.state.lock()) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff *= 2;
        }
        let mut state = self.state.lock();
        state.joined = true;
        let threads = std::mem::take(&mut state.threads);
        let (done, alive): (Vec<_>, Vec<_>) = threads.into_iter().partition(Registered::is_finished);
        for r in done {
            let _ = r.thread.join();
        }
        if let Some(e) = &state.error {
            return Err(e.duplicate());
        }
        if !alive.is_empty() {
            let msg = format!("Coordinator stopped with threads still running: {} thread(s)", alive.len());
            if ignore_live_threads {
                tracing::info!("{msg}");
            } else {
                return Err(Error::internal(msg));
            }
        }
        Ok(())
    }

    /// Whether [`join`](Self::join) has been called.
    pub fn joined(&self) -> bool {
        self.state.lock().joined
    }
}

/// A coordinator supervises the background threads of a session's kernels (prefetching input
/// pipelines) once [`start_queue_runners`](crate::start_queue_runners) attached it.
impl ThreadSupervisor for Coordinator {
    fn should_stop(&self) -> bool {
        Coordinator::should_stop(self)
    }
    fn request_stop(&self, error: Option<Error>) {
        if let Err(e) = Coordinator::request_stop(self, error) {
            // Only after `join`: the session is closing and has nobody left to tell.
            tracing::warn!(error = %e, "a background thread failed after the coordinator was joined");
        }
    }
    fn register_thread(&self, thread: JoinHandle<()>, stop: StopFn) {
        self.register_stoppable_thread(thread, stop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn first_error_wins_and_clean_codes_are_dropped() {
        let coord = Coordinator::new();
        assert!(coord.request_stop(Some(Error::out_of_range("eof"))).is_ok());
        assert!(coord.should_stop());
        assert!(coord.raise_requested_exception().is_ok(), "OutOfRange is a clean stop");
        coord.clear_stop();
        assert!(!coord.should_stop());
        let strict = Coordinator::with_clean_stop_codes(vec![]);
        assert!(strict.request_stop(Some(Error::out_of_range("eof"))).is_ok());
        assert_eq!(strict.raise_requested_exception().map_err(|e| e.code()), Err(Code::OutOfRange));
    }

    #[test]
    fn join_waits_for_threads_and_reraises() {
        let coord = Arc::new(Coordinator::new());
        for _ in 0..3 {
            let c = Arc::clone(&coord);
            coord.register_thread(std::thread::spawn(move || {
                while !c.should_stop() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }));
        }
        let _ = coord.request_stop(Some(Error::unknown("boom")));
        let err = coord.join(Duration::from_secs(5), false);
        assert_eq!(err.map_err(|e| e.code()), Err(Code::Unknown));
        assert!(coord.request_stop(Some(Error::aborted("late"))).is_err(), "after join, raised at once");
    }
}
