//! `tf.summary.FileWriter` (TF1, `tensorflow/python/summary/writer/writer.py`): turns summaries, session
//! logs, graphs and run metadata into events and hands them to an [`EventFileWriter`].

use crate::{EventFileWriter, EventFileWriterConfig};
use ferroflow_core::{Error, Result};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Event, EventWhat, SessionLog, Summary, TaggedRunMetadata};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// A summary given to [`FileWriter::add_summary`]: a proto, or its serialized bytes as the summary
/// ops produce them.
#[derive(Clone, Copy, Debug)]
pub enum SummaryInput<'a> {
    /// A `Summary` proto.
    Proto(&'a Summary),
    /// A serialized `Summary` (the string output of a summary op).
    Serialized(&'a [u8]),
}

impl<'a> From<&'a Summary> for SummaryInput<'a> {
    fn from(summary: &'a Summary) -> Self {
        SummaryInput::Proto(summary)
    }
}

impl<'a> From<&'a [u8]> for SummaryInput<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        SummaryInput::Serialized(bytes)
    }
}

impl<'a> From<&'a Vec<u8>> for SummaryInput<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        SummaryInput::Serialized(bytes)
    }
}

/// Writes summaries and other events of one log directory, asynchronously.
///
/// Mirrors TF1's `tf.compat.v1.summary.FileWriter`. As in TF, a value's plugin metadata is written
/// only the first time its tag is seen, and a run-metadata tag may be used once. Differences:
/// `get_logdir` is [`logdir`](Self::logdir); the graph is given as serialized `GraphDef` bytes; events
/// added after [`close`](Self::close) are `FailedPrecondition` rather than silently dropped.
///
/// All methods take `&self`, so one writer can be shared (see
/// [`SummaryWriterCache`](crate::SummaryWriterCache)).
///
/// # Examples
///
/// ```
/// use ferroflow_summary::{scalar, FileWriter};
/// # fn main() -> ferroflow_core::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let writer = FileWriter::new(dir.path())?;
/// for step in 0..3 {
///     writer.add_summary(&scalar("loss", 1.0 / (step + 1) as f32), step)?;
/// }
/// writer.close()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FileWriter {
    events: EventFileWriter,
    seen_summary_tags: Mutex<HashSet<String>>,
    seen_run_metadata_tags: Mutex<HashSet<String>>,
}

impl FileWriter {
    /// A writer for `logdir` with TF1's defaults (`max_queue` 10, `flush_secs` 120).
    ///
    /// # Errors
    /// As [`EventFileWriter::new`].
    pub fn new(logdir: impl AsRef<Path>) -> Result<FileWriter> {
        Self::with_config(logdir, EventFileWriterConfig::default())
    }

    /// A writer for `logdir` with these knobs.
    ///
    /// # Errors
    /// As [`EventFileWriter::new`].
    pub fn with_config(logdir: impl AsRef<Path>, config: EventFileWriterConfig) -> Result<FileWriter> {
        Ok(FileWriter {
            events: EventFileWriter::new(logdir, config)?,
            seen_summary_tags: Mutex::new(HashSet::new()),
            seen_run_metadata_tags: Mutex::new(HashSet::new()),
        })
    }

    /// Adds a summary at a global step (`None` writes step 0, as TF).
    ///
    /// # Errors
    /// `InvalidArgument` if serialized bytes are not a `Summary`; otherwise as
    /// [`EventFileWriter::add_event`].
    pub fn add_summary<'a>(
        &self,
        summary: impl Into<SummaryInput<'a>>,
        global_step: impl Into<Option<i64>>,
    ) -> Result<()> {
        let decoded;
        let summary = match summary.into() {
            SummaryInput::Proto(summary) => summary,
            SummaryInput::Serialized(bytes) => {
                decoded = Summary::decode(bytes).map_err(|e| {
                    Error::invalid_argument(format!(
                        "add_summary in {}: not a serialized Summary ({} bytes): {e}",
                        self.logdir().display(),
                        bytes.len()
                    ))
                })?;
                &decoded
            }
        };
        let stripped = self.strip_seen_metadata(summary);
        let summary = stripped.as_ref().unwrap_or(summary);
        // Encode the event around the borrowed summary instead of cloning it into an Event.
        let header = Event { wall_time: now(), step: global_step.into().unwrap_or(0), ..Default::default() };
        let mut bytes = Vec::with_capacity(header.encoded_len() + summary.encoded_len() + 8);
        header.encode_raw(&mut bytes);
        ferroflow_proto::prost::encoding::message::encode(5, summary, &mut bytes);
        self.events.add_serialized_event(bytes)
    }

    /// Adds a `SessionLog` (START, STOP or CHECKPOINT) at a global step.
    ///
    /// # Errors
    /// As [`EventFileWriter::add_event`].
    pub fn add_session_log(
        &self,
        session_log: &SessionLog,
        global_step: impl Into<Option<i64>>,
    ) -> Result<()> {
        self.add_what(EventWhat::SessionLog(session_log.clone()), global_step.into())
    }

    /// Adds an event as it is (its wall time and step are kept).
    ///
    /// # Errors
    /// As [`EventFileWriter::add_event`].
    pub fn add_event(&self, event: &Event) -> Result<()> {
        self.events.add_event(event)
    }

    /// Adds a serialized `GraphDef` for TensorBoard's graph dashboard, at step 0.
    ///
    /// # Errors
    /// As [`EventFileWriter::add_event`].
    pub fn add_graph(&self, graph_def: &[u8]) -> Result<()> {
        self.add_what(EventWhat::GraphDef(graph_def.to_vec()), None)
    }

    /// Adds a serialized `MetaGraphDef` at a global step.
    ///
    /// # Errors
    /// As [`EventFileWriter::add_event`].
    pub fn add_meta_graph(&self, meta_graph_def: &[u8], global_step: impl Into<Option<i64>>) -> Result<()> {
        self.add_what(EventWhat::MetaGraphDef(meta_graph_def.to_vec()), global_step.into())
    }

    /// Adds a serialized `RunMetadata` (step stats) under a tag.
    ///
    /// # Errors
    /// `InvalidArgument` if the tag was already used by this writer (TF's rule); otherwise as
    /// [`EventFileWriter::add_event`].
    pub fn add_run_metadata(
        &self,
        run_metadata: &[u8],
        tag: &str,
        global_step: impl Into<Option<i64>>,
    ) -> Result<()> {
        if !self.seen_run_metadata_tags.lock().insert(tag.to_owned()) {
            return Err(Error::invalid_argument(format!(
                "add_run_metadata in {}: the tag {tag:?} was already used for run metadata",
                self.logdir().display()
            )));
        }
        let tagged = TaggedRunMetadata { tag: tag.to_owned(), run_metadata: run_metadata.to_vec() };
        self.add_what(EventWhat::TaggedRunMetadata(tagged), global_step.into())
    }

    /// Writes every queued event to disk.
    ///
    /// # Errors
    /// As [`EventFileWriter::flush`].
    pub fn flush(&self) -> Result<()> {
        self.events.flush()
    }

    /// Flushes and stops writing; [`reopen`](Self::reopen) continues in a new file.
    ///
    /// # Errors
    /// As [`EventFileWriter::close`].
    pub fn close(&self) -> Result<()> {
        self.events.close()
    }

    /// After [`close`](Self::close), continues in a new event file in the same directory; otherwise
    /// does nothing.
    ///
    /// # Errors
    /// As [`EventFileWriter::new`].
    pub fn reopen(&self) -> Result<()> {
        self.events.reopen()
    }

    /// The log directory (TF's `get_logdir`).
    pub fn logdir(&self) -> &Path {
        self.events.logdir()
    }

    /// The event file currently written.
    pub fn path(&self) -> std::path::PathBuf {
        self.events.path()
    }

    fn add_what(&self, what: EventWhat, global_step: Option<i64>) -> Result<()> {
        let event = Event {
            wall_time: now(),
            step: global_step.unwrap_or(0),
            what: Some(what),
            ..Default::default()
        };
        self.events.add_event(&event)
    }

    /// TF1 keeps plugin metadata only with the first value of a tag; a copy is made only when some
    /// metadata must go.
    fn strip_seen_metadata(&self, summary: &Summary) -> Option<Summary> {
        if summary.value.iter().all(|v| v.metadata.is_none()) {
            return None;
        }
        let mut seen = self.seen_summary_tags.lock();
        let mut copy: Option<Summary> = None;
        for (i, value) in summary.value.iter().enumerate() {
            if value.metadata.is_none() {
                continue;
            }
            if !seen.insert(value.tag.clone()) {
                let copy = copy.get_or_insert_with(|| summary.clone());
                if let Some(v) = copy.value.get_mut(i) {
                    v.metadata = None;
                }
            }
        }
        copy
    }
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}
