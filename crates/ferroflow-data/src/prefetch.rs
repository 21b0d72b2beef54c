//! `Dataset.prefetch`: elements produced ahead on a background thread.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, Result};
use ferroflow_session::BackgroundThreads;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Produces up to `buffer_size` elements ahead of the consumer on a background thread.
///
/// Mirrors `Dataset.prefetch(buffer_size)` (without `AUTOTUNE`). The thread belongs to the iterator
/// ([`PrefetchIterator`]); in a session it is also handed to the session's background threads, so
/// that a `MonitoredSession`'s coordinator stops it on a stop request, learns of its errors and joins
/// it when the session closes (TF1's queue runners). Dropping the iterator stops the thread and waits
/// for it. Errors of the input are delivered in order, like elements. The buffered elements are part
/// of the iterator state.
#[derive(Debug)]
pub struct PrefetchDataset {
    input: DatasetRef,
    buffer_size: usize,
}

impl PrefetchDataset {
    /// `input.prefetch(buffer_size)`.
    ///
    /// # Errors
    /// `InvalidArgument` for a zero buffer size.
    pub fn new(input: DatasetRef, buffer_size: usize) -> Result<PrefetchDataset> {
        if buffer_size == 0 {
            return Err(Error::invalid_argument("prefetch buffer_size must be greater than zero"));
        }
        Ok(PrefetchDataset { input, buffer_size })
    }
}

impl Dataset for PrefetchDataset {
    fn element_spec(&self) -> &ElementSpec {
        self.input.element_spec()
    }
    fn make_iterator(&self, ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        let supervision = Supervision { threads: ctx.threads.clone(), errors_ignored: ctx.errors_ignored };
        let input = self.input.make_iterator(ctx)?;
        Ok(Box::new(PrefetchIterator::start(input, self.buffer_size, supervision)?))
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Result<Element>>,
    /// The input has ended (after the queued items).
    finished: bool,
    stop: bool,
    /// The producer has returned (set by the thread itself, so that a stop can wait for it when its
    /// handle went to a coordinator).
    exited: bool,
    /// The producer filled the buffer and sleeps until it drains to the low-water mark.
    resting: bool,
}

/// Who watches the producer besides the iterator.
#[derive(Default)]
struct Supervision {
    threads: Option<Arc<BackgroundThreads>>,
    errors_ignored: bool,
}

struct Shared {
    /// Held by the producer for the whole of producing and queueing one element, so that a save
    /// sees the input and the queue in agreement.
    input: Mutex<Box<dyn DatasetIterator>>,
    queue: Mutex<Queue>,
    /// Signals the producer: room in the buffer, or stop.
    room: Condvar,
    /// Signals the consumer: an element, the end, or the producer's exit.
    ready: Condvar,
    capacity: usize,
    /// The producer refills once the buffer is down to this many elements: it then produces a run of
    /// elements instead of waking for each one the consumer takes, which halves (or better) the
    /// thread switches per element on a machine whose cores the training step keeps busy.
    low_water: usize,
    supervision: Supervision,
}

impl Shared {
    /// Asks the producer to stop after the element it is producing; the buffer ends when it has.
    fn request_stop(&self) {
        self.queue.lock().stop = true;
        self.room.notify_all();
    }

    /// Tells the session's coordinator (if any) about an element error: TF1's queue runners stop the
    /// coordinator with their error. Below `ignore_errors` the error is not fatal, so it is not told.
    fn report(&self, error: &Error) {
        if self.supervision.errors_ignored {
            return;
        }
        if let Some(sup) = self.supervision.threads.as_ref().and_then(|t| t.supervisor()) {
            sup.request_stop(Some(error.duplicate().context("prefetch thread")));
        }
    }
}

/// The iterator of a [`PrefetchDataset`]: owns the producer thread.
///
/// Lifecycle: [`PrefetchIterator::new`] starts the thread; [`next`](DatasetIterator::next) takes
/// from the buffer, waiting when it is empty; [`stop`](PrefetchIterator::stop) (or dropping) asks
/// the thread to finish its current element, then waits for it. A coordinator that supervises the
/// thread may stop it earlier; the iterator then returns what is buffered, then ends.
pub struct PrefetchIterator {
    shared: Arc<Shared>,
    /// `None` once joined, or when the handle went to the session's coordinator.
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PrefetchIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefetchIterator").field("capacity", &self.shared.capacity).finish()
    }
}

/// Marks the producer as gone however it leaves (return or panic), so no consumer waits forever.
struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        let mut q = self.0.queue.lock();
        q.exited = true;
        // Only a requested stop is an end of input; any other exit is reported by `next`.
        if q.stop {
            q.finished = true;
        }
        drop(q);
        self.0.ready.notify_all();
    }
}

fn produce(shared: &Shared) {
    let _exit = ExitGuard(shared);
    loop {
        {
            let mut q = shared.queue.lock();
            while !q.stop
                && (q.finished
                    || q.items.len() >= shared.capacity
                    || (q.resting && q.items.len() > shared.low_water))
            {
                shared.room.wait(&mut q);
            }
            if q.stop {
                return;
            }
            q.resting = false;
        }
        let mut input = shared.input.lock();
        // A panicking input must not leave the consumer waiting forever.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| input.next()))
            .unwrap_or_else(|_| Err(Error::internal("the prefetched input panicked")));
        // Reported before it is queued, so the coordinator knows by the time the consumer sees it; the
        // stop this causes ends the buffer only after the error, when this thread exits.
        if let Err(e) = &result {
            shared.report(e);
        }
        let mut q = shared.queue.lock();
        match result {
            Ok(Some(e)) => q.items.push_back(Ok(e)),
            Ok(None) => q.finished = true,
            Err(e) => q.items.push_back(Err(e)),
        }
        q.resting = q.items.len() >= shared.capacity;
        drop(q);
        drop(input);
        shared.ready.notify_one();
    }
}

impl PrefetchIterator {
    /// Starts prefetching `input` into a buffer of `capacity` elements, on a thread owned by the
    /// iterator alone.
    ///
    /// # Errors
    /// `ResourceExhausted` when the thread cannot be started.
    pub fn new(input: Box<dyn DatasetIterator>, capacity: usize) -> Result<PrefetchIterator> {
        PrefetchIterator::start(input, capacity, Supervision::default())
    }

    fn start(
        input: Box<dyn DatasetIterator>,
        capacity: usize,
        supervision: Supervision,
    ) -> Result<PrefetchIterator> {
        let shared = Arc::new(Shared {
            input: Mutex::new(input),
            queue: Mutex::new(Queue::default()),
            room: Condvar::new(),
            ready: Condvar::new(),
            capacity: capacity.max(1),
            low_water: capacity.max(1) / 2,
            supervision,
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ferroflow-prefetch".into())
            .spawn(move || produce(&worker))
            .map_err(|e| Error::resource_exhausted(format!("cannot start the prefetch thread: {e}")))?;
        let thread = match &shared.supervision.threads {
            Some(threads) => {
                // A weak reference: the coordinator may outlive the iterator by many epochs.
                let weak = Arc::downgrade(&shared);
                let stop = Box::new(move || {
                    if let Some(s) = weak.upgrade() {
                        s.request_stop();
                    }
                });
                threads.adopt(thread, stop);
                None
            }
            None => Some(thread),
        };
        Ok(PrefetchIterator { shared, thread })
    }

    /// Stops the producer thread and waits for it; later `next` calls return what is buffered, then
    /// end. Calling it twice is fine.
    ///
    /// # Errors
    /// `Internal` when the thread panicked.
    pub fn stop(&mut self) -> Result<()> {
        self.shared.request_stop();
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| Error::internal("the prefetch thread panicked")),
            None => {
                // The handle is the coordinator's; the thread says itself when it is done.
                let mut q = self.shared.queue.lock();
                while !q.exited {
                    self.shared.ready.wait(&mut q);
                }
                Ok(())
            }
        }
    }

    /// Whether the producer thread is running.
    pub fn is_running(&self) -> bool {
        !self.shared.queue.lock().exited
    }
}

impl Drop for PrefetchIterator {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "stopping the prefetch thread");
        }
    }
}

impl DatasetIterator for PrefetchIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        let mut q = self.shared.queue.lock();
        loop {
            if let Some(item) = q.items.pop_front() {
                let wake = q.items.len() <= self.shared.low_water;
                drop(q);
                if wake {
                    self.shared.room.notify_one();
                }
                return item.map(Some);
            }
            if q.finished {
                return Ok(None);
            }
            if q.exited {
                return Err(Error::internal("the prefetch thread is gone"));
            }
            self.shared.ready.wait(&mut q);
        }
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        let input = self.shared.input.lock();
        let q = self.shared.queue.lock();
        w.tag("prefetch");
        w.bool(q.finished && !q.stop);
        // Errors in the buffer are not state: a resumed run re-reads nothing, so they are dropped.
        let ready: Vec<&Element> = q.items.iter().filter_map(|r| r.as_ref().ok()).collect();
        w.u64(ready.len() as u64);
        for e in ready {
            w.element(e);
        }
        input.save(w)
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        let mut input = self.shared.input.lock();
        let mut q = self.shared.queue.lock();
        r.expect_tag("prefetch")?;
        let finished = r.bool()?;
        let n = r.usize()?;
        let mut items = VecDeque::with_capacity(n);
        for _ in 0..n {
            items.push_back(Ok(r.element()?));
        }
        input.restore(r)?;
        q.items = items;
        q.finished = finished;
        self.shared.room.notify_all();
        self.shared.ready.notify_all();
        Ok(())
    }
}
