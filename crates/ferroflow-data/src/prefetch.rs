//! `Dataset.prefetch`: elements produced ahead on a background thread.

use crate::{
    Dataset, DatasetIterator, DatasetRef, Element, ElementSpec, IteratorContext, IteratorStateReader,
    IteratorStateWriter,
};
use ferroflow_core::{Error, Result};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Produces up to `buffer_size` elements ahead of the consumer on a background thread.
///
/// Mirrors `Dataset.prefetch(buffer_size)` (without `AUTOTUNE`). The thread is a plain
/// `std::thread` owned by the iterator ([`PrefetchIterator`]); dropping the iterator stops and joins
/// it. Errors of the input are delivered in order, like elements. The buffered elements are part of
/// the iterator state.
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
        Ok(Box::new(PrefetchIterator::new(self.input.make_iterator(ctx)?, self.buffer_size)?))
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Result<Element>>,
    /// The input has ended (after the queued items).
    finished: bool,
    stop: bool,
}

struct Shared {
    /// Held by the producer for the whole of producing and queueing one element, so that a save
    /// sees the input and the queue in agreement.
    input: Mutex<Box<dyn DatasetIterator>>,
    queue: Mutex<Queue>,
    changed: Condvar,
    capacity: usize,
}

/// The iterator of a [`PrefetchDataset`]: owns the producer thread.
///
/// Lifecycle: [`PrefetchIterator::new`] starts the thread; [`next`](DatasetIterator::next) takes
/// from the buffer, waiting when it is empty; [`stop`](PrefetchIterator::stop) (or dropping) asks
/// the thread to finish its current element, then joins it.
pub struct PrefetchIterator {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PrefetchIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefetchIterator").field("capacity", &self.shared.capacity).finish()
    }
}

fn produce(shared: &Shared) {
    loop {
        {
            let mut q = shared.queue.lock();
            while !q.stop && (q.finished || q.items.len() >= shared.capacity) {
                shared.changed.wait(&mut q);
            }
            if q.stop {
                return;
            }
        }
        let mut input = shared.input.lock();
        // A panicking input must not leave the consumer waiting forever.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| input.next()))
            .unwrap_or_else(|_| Err(Error::internal("the prefetched input panicked")));
        let mut q = shared.queue.lock();
        match result {
            Ok(Some(e)) => q.items.push_back(Ok(e)),
            Ok(None) => q.finished = true,
            Err(e) => q.items.push_back(Err(e)),
        }
        shared.changed.notify_all();
    }
}

impl PrefetchIterator {
    /// Starts prefetching `input` into a buffer of `capacity` elements.
    ///
    /// # Errors
    /// `ResourceExhausted` when the thread cannot be started.
    pub fn new(input: Box<dyn DatasetIterator>, capacity: usize) -> Result<PrefetchIterator> {
        let shared = Arc::new(Shared {
            input: Mutex::new(input),
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ferroflow-prefetch".into())
            .spawn(move || produce(&worker))
            .map_err(|e| Error::resource_exhausted(format!("cannot start the prefetch thread: {e}")))?;
        Ok(PrefetchIterator { shared, thread: Some(thread) })
    }

    /// Stops the producer thread and joins it; later `next` calls return what is buffered, then end.
    /// Calling it twice is fine.
    ///
    /// # Errors
    /// `Internal` when the thread panicked.
    pub fn stop(&mut self) -> Result<()> {
        {
            let mut q = self.shared.queue.lock();
            q.stop = true;
            q.finished = true;
            self.shared.changed.notify_all();
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| Error::internal("the prefetch thread panicked")),
            None => Ok(()),
        }
    }

    /// Whether the producer thread is running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
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
                self.shared.changed.notify_all();
                return item.map(Some);
            }
            if q.finished {
                return Ok(None);
            }
            let alive = matches!(&self.thread, Some(t) if !t.is_finished());
            if !alive {
                return Err(Error::internal("the prefetch thread is gone"));
            }
            self.shared.changed.wait(&mut q);
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
        self.shared.changed.notify_all();
        Ok(())
    }
}
