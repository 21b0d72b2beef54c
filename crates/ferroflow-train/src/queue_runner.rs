//! `start_queue_runners`: hands a session's background threads to a [`Coordinator`] (TF's
//! `queue_runner_impl.start_queue_runners`).

use crate::Coordinator;
use ferroflow_session::{Session, ThreadSupervisor};
use std::sync::Arc;

/// Puts the background threads of `sess` (the producer threads of prefetching input pipelines) under
/// `coord`, TF1's `tf.train.start_queue_runners(sess, coord)`: a stop request of `coord` stops them,
/// an error in one of them is reported to `coord` (so the session's `should_stop` and `close` return
/// it), and `coord.join` joins them. Threads started later (an iterator initialized or first read after
/// this call) are registered as they start. Returns how many running threads were handed over now.
///
/// `MonitoredSession` calls it for every session it creates, as TF's does, so there is usually no need
/// to call it. Unlike TF1 there is no `QUEUE_RUNNERS` collection to consult: the threads are started by
/// the iterator kernels themselves, and a session that runs kernels elsewhere (`background_threads()`
/// is `None`) has nothing to hand over.
pub fn start_queue_runners(sess: &dyn Session, coord: &Arc<Coordinator>) -> usize {
    match sess.background_threads() {
        Some(threads) => {
            let supervisor: Arc<dyn ThreadSupervisor> = Arc::clone(coord) as Arc<dyn ThreadSupervisor>;
            threads.attach(supervisor)
        }
        None => 0,
    }
}
