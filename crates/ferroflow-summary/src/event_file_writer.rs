//! Writing event files on a background thread, from TF1's
//! `tensorflow/python/summary/writer/event_file_writer.py` and `tensorflow/core/util/events_writer.cc`.
//!
//! Lifecycle:
//! 1. [`EventFileWriter::new`] creates the log directory and a new file whose first record is
//!    `file_version: "brain.Event:2"`, and starts the writer thread.
//! 2. [`add_event`](EventFileWriter::add_event) serializes on the caller's thread and appends the
//!    bytes to a pending batch; every `max_queue` events the thread is woken to write the batch, so a
//!    training step pays for a push, not for a thread handoff per event. Far beyond `max_queue`
//!    waiting events the caller blocks until the thread catches up.
//! 3. The thread flushes every `flush_secs` and on [`flush`](EventFileWriter::flush).
//! 4. [`close`](EventFileWriter::close) (or drop) drains the queue, flushes and joins the thread;
//!    [`reopen`](EventFileWriter::reopen) starts again in a new file.
//!
//! Errors of the thread are kept and returned by the next call. If the file or its directory vanish,
//! the next flush reports `DataLoss` and the next event starts a new file (recreating the directory),
//! as TF's `EventsWriter::InitIfNeeded` does.

use ferroflow_core::{Error, Result};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Event, EventWhat};
use ferroflow_record::RecordWriter;
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `file_version` of the first record; TensorBoard enables its restart logic for versions >= 2.
pub const FILE_VERSION: &str = "brain.Event:2";

/// Makes file names unique within a process when two writers start in the same second.
static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Knobs of an [`EventFileWriter`], with TF1's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFileWriterConfig {
    /// How many events are batched before the writer thread is woken to write them. By default, 10.
    pub max_queue: usize,
    /// How often the thread flushes pending events to disk. By default, 120 s.
    pub flush_secs: Duration,
    /// Appended to the file name. By default, empty.
    pub filename_suffix: String,
}

impl Default for EventFileWriterConfig {
    fn default() -> Self {
        EventFileWriterConfig {
            max_queue: 10,
            flush_secs: Duration::from_secs(120),
            filename_suffix: String::new(),
        }
    }
}

enum Command {
    /// Write the pending batch.
    Drain,
    Flush(SyncSender<Result<()>>),
    Close,
}

/// Waiting events beyond this many `max_queue` batches make `add_event` wait for the thread.
const BACKPRESSURE_BATCHES: usize = 64;

struct Running {
    sender: SyncSender<Command>,
    thread: JoinHandle<()>,
}

/// Writes serialized `Event`s to `events.out.tfevents.*` files from a background thread.
///
/// Mirrors TF1's `EventFileWriter`. File names are
/// `events.out.tfevents.{secs:010}.{hostname}.{pid}.{n}{suffix}` (TF's C++ prefix and time stamp, plus
/// the pid and a process-wide counter as TensorBoard's own writer adds, so two writers never share a
/// file). Differences: events added after [`close`](Self::close) are `FailedPrecondition` instead
/// of being ignored, the thread also flushes when idle, and dropping the writer closes it.
///
/// # Examples
///
/// ```
/// use ferroflow_summary::{EventFileWriter, EventFileWriterConfig};
/// # fn main() -> ferroflow_core::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let writer = EventFileWriter::new(dir.path(), EventFileWriterConfig::default())?;
/// writer.add_event(&ferroflow_proto::Event { wall_time: 1.0, step: 3, ..Default::default() })?;
/// writer.close()?;
/// let events = ferroflow_summary::read_events(writer.path())?.collect::<ferroflow_core::Result<Vec<_>>>()?;
/// assert_eq!(events.len(), 2); // file_version, then ours
/// assert_eq!(events[1].step, 3);
/// # Ok(())
/// # }
/// ```
pub struct EventFileWriter {
    logdir: PathBuf,
    config: EventFileWriterConfig,
    running: Mutex<Option<Running>>,
    /// The first error of the thread not yet reported.
    error: Arc<Mutex<Option<Error>>>,
    /// The file being written; it changes when the writer reopens or recreates it.
    path: Arc<Mutex<PathBuf>>,
    /// Serialized events not yet handed to the file, in order.
    pending: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl EventFileWriter {
    /// Creates `logdir` if needed, opens a new event file in it and starts the writer thread.
    ///
    /// # Errors
    /// - `InvalidArgument` for `max_queue == 0` or a zero `flush_secs`.
    /// - The I/O code (`PermissionDenied`, `NotFound`, ...) naming the directory or file if it cannot
    ///   be created.
    pub fn new(logdir: impl AsRef<Path>, config: EventFileWriterConfig) -> Result<EventFileWriter> {
        if config.max_queue == 0 || config.flush_secs.is_zero() {
            return Err(Error::invalid_argument(format!(
                "event file writer for {}: max_queue and flush_secs must be positive, got {} and {:?}",
                logdir.as_ref().display(),
                config.max_queue,
                config.flush_secs
            )));
        }
        let writer = EventFileWriter {
            logdir: logdir.as_ref().to_path_buf(),
            config,
            running: Mutex::new(None),
            error: Arc::new(Mutex::new(None)),
            path: Arc::new(Mutex::new(PathBuf::new())),
            pending: Arc::new(Mutex::new(Vec::new())),
        };
        writer.start()?;
        Ok(writer)
    }

    /// The log directory.
    pub fn logdir(&self) -> &Path {
        &self.logdir
    }

    /// The event file currently written.
    pub fn path(&self) -> PathBuf {
        self.path.lock().clone()
    }

    /// Queues one event.
    ///
    /// # Errors
    /// - `FailedPrecondition` after [`close`](Self::close).
    /// - The error the writer thread met since the last call (I/O codes, `DataLoss` for a vanished
    ///   file), naming the file.
    pub fn add_event(&self, event: &Event) -> Result<()> {
        self.add_serialized_event(event.encode_to_vec())
    }

    /// Queues an already serialized `Event` (see [`add_event`](Self::add_event)); the bytes are not
    /// checked.
    ///
    /// # Errors
    /// As [`add_event`](Self::add_event).
    pub fn add_serialized_event(&self, event: Vec<u8>) -> Result<()> {
        self.take_error()?;
        let sender = match self.running.lock().as_ref() {
            Some(running) => running.sender.clone(),
            None => return Err(self.closed_error()),
        };
        let waiting = {
            let mut pending = self.pending.lock();
            pending.push(event);
            pending.len()
        };
        let batch = self.config.max_queue;
        if waiting >= batch * BACKPRESSURE_BATCHES {
            sender.send(Command::Drain).map_err(|_| self.thread_gone())?;
        } else if waiting % batch == 0 {
            // A full channel already holds a wake-up for this batch.
            let _ = sender.try_send(Command::Drain);
        }
        Ok(())
    }

    /// Writes every queued event to disk.
    ///
    /// # Errors
    /// `FailedPrecondition` after close; the writer thread's I/O error; `DataLoss` if the file has
    /// disappeared (its events are lost; the next event starts a new file).
    pub fn flush(&self) -> Result<()> {
        self.take_error()?;
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Flush(reply))?;
        answer.recv().map_err(|_| self.thread_gone())?
    }

    /// Drains the queue, flushes and stops the thread. Closing twice is fine.
    ///
    /// # Errors
    /// The last error of the writer thread, if not reported yet.
    pub fn close(&self) -> Result<()> {
        let running = self.running.lock().take();
        if let Some(Running { sender, thread }) = running {
            // A send error means the thread already ended; joining tells why.
            let _ = sender.send(Command::Close);
            if thread.join().is_err() {
                self.record(Error::internal(format!(
                    "event writer thread for {} panicked",
                    self.path().display()
                )));
            }
        }
        self.take_error()
    }

    /// After [`close`](Self::close), starts again in a new file in the same directory; otherwise
    /// does nothing.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn reopen(&self) -> Result<()> {
        if self.running.lock().is_some() {
            return Ok(());
        }
        self.start()
    }

    /// Whether [`close`](Self::close) was called (and no [`reopen`](Self::reopen) since).
    pub fn is_closed(&self) -> bool {
        self.running.lock().is_none()
    }

    fn start(&self) -> Result<()> {
        let mut running = self.running.lock();
        if running.is_some() {
            return Ok(());
        }
        let file = EventFile::create(&self.logdir, &self.config.filename_suffix)?;
        *self.path.lock() = file.path.clone();
        let (sender, receiver) = mpsc::sync_channel(1);
        let mut worker = Worker {
            logdir: self.logdir.clone(),
            suffix: self.config.filename_suffix.clone(),
            flush_every: self.config.flush_secs,
            file: Some(file),
            unflushed: 0,
            error: Arc::clone(&self.error),
            path: Arc::clone(&self.path),
            pending: Arc::clone(&self.pending),
        };
        let thread = std::thread::Builder::new()
            .name("event-file-writer".into())
            .spawn(move || worker.run(receiver))
            .map_err(|e| Error::from(e).context("starting the event writer thread"))?;
        *running = Some(Running { sender, thread });
        Ok(())
    }

    fn send(&self, command: Command) -> Result<()> {
        // Clone the sender so a full queue blocks only this caller, not close() or other threads.
        let sender = match self.running.lock().as_ref() {
            Some(running) => running.sender.clone(),
            None => return Err(self.closed_error()),
        };
        sender.send(command).map_err(|_| self.thread_gone())
    }

    fn closed_error(&self) -> Error {
        Error::failed_precondition(format!("event file writer for {} is closed", self.logdir.display()))
    }

    fn thread_gone(&self) -> Error {
        self.take_error().err().unwrap_or_else(|| {
            Error::failed_precondition(format!("event file writer for {} is closed", self.logdir.display()))
        })
    }

    fn take_error(&self) -> Result<()> {
        match self.error.lock().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn record(&self, e: Error) {
        let mut slot = self.error.lock();
        slot.get_or_insert(e);
    }
}

impl Drop for EventFileWriter {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(error = %e, logdir = %self.logdir.display(), "closing event file writer on drop");
        }
    }
}

impl std::fmt::Debug for EventFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFileWriter")
            .field("path", &self.path())
            .field("config", &self.config)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// An open event file and its name.
struct EventFile {
    path: PathBuf,
    records: RecordWriter<BufWriter<File>>,
}

impl EventFile {
    fn create(logdir: &Path, suffix: &str) -> Result<EventFile> {
        std::fs::create_dir_all(logdir).map_err(|e| {
            Error::from(e).context(format_args!("creating log directory {}", logdir.display()))
        })?;
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let pid = std::process::id();
        loop {
            let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = logdir.join(format!("events.out.tfevents.{secs:010}.{host}.{pid}.{n}{suffix}"));
            // create_new: never append to a file another writer owns.
            let file = match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::from(e).context(format_args!("creating {}", path.display()))),
            };
            let mut records = RecordWriter::new(BufWriter::new(file));
            // TF's C++ writer stamps the version record with whole seconds, the same as in the name.
            let version = Event {
                wall_time: secs as f64,
                what: Some(EventWhat::FileVersion(FILE_VERSION.into())),
                ..Default::default()
            };
            records
                .write_record(&version.encode_to_vec())
                .and_then(|()| records.flush())
                .map_err(|e| e.context(format_args!("writing {}", path.display())))?;
            tracing::debug!(path = %path.display(), "opened event file");
            return Ok(EventFile { path, records });
        }
    }
}

struct Worker {
    logdir: PathBuf,
    suffix: String,
    flush_every: Duration,
    file: Option<EventFile>,
    unflushed: u64,
    error: Arc<Mutex<Option<Error>>>,
    path: Arc<Mutex<PathBuf>>,
    pending: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Worker {
    fn run(&mut self, commands: Receiver<Command>) {
        let mut next_flush = Instant::now() + self.flush_every;
        loop {
            let wait = next_flush.saturating_duration_since(Instant::now());
            let command = commands.recv_timeout(wait);
            self.drain();
            match command {
                Ok(Command::Drain) => {}
                Ok(Command::Flush(reply)) => {
                    let _ = reply.send(self.flush());
                    next_flush = Instant::now() + self.flush_every;
                }
                Ok(Command::Close) | Err(RecvTimeoutError::Disconnected) => {
                    if let Err(e) = self.flush() {
                        self.record(e);
                    }
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.unflushed > 0 {
                        if let Err(e) = self.flush() {
                            self.record(e);
                        }
                    }
                    next_flush = Instant::now() + self.flush_every;
                }
            }
        }
    }

    /// Writes every pending event, in order.
    fn drain(&mut self) {
        let batch = std::mem::take(&mut *self.pending.lock());
        for bytes in batch {
            if let Err(e) = self.write(&bytes) {
                self.record(e);
            }
        }
    }

    fn write(&mut self, event: &[u8]) -> Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let file = EventFile::create(&self.logdir, &self.suffix)?;
                tracing::warn!(path = %file.path.display(), "event file was lost; writing a new one");
                *self.path.lock() = file.path.clone();
                self.file.insert(file)
            }
        };
        file.records
            .write_record(event)
            .map_err(|e| e.context(format_args!("writing {}", file.path.display())))?;
        self.unflushed += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(file) = &mut self.file else { return Ok(()) };
        let flushed =
            file.records.flush().map_err(|e| e.context(format_args!("flushing {}", file.path.display())));
        let lost = self.unflushed;
        self.unflushed = 0;
        // Writes to an unlinked file succeed, so only a look at the directory tells that data is lost.
        if !file.path.exists() {
            let path = file.path.display().to_string();
            self.file = None;
            return Err(Error::data_loss(format!(
                "events file {path} has disappeared; the events written to it since ({lost} since the last flush) are lost"
            )));
        }
        flushed
    }

    fn record(&self, e: Error) {
        tracing::warn!(error = %e, "event file writer");
        self.error.lock().get_or_insert(e);
    }
}
