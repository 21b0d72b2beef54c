//! Reading event files back, as TensorBoard's `EventFileLoader` does.

use ferroflow_core::{Error, Result};
use ferroflow_proto::prost::Message;
use ferroflow_proto::Event;
use ferroflow_record::{ReadOutcome, RecordReader, RecordReaderOptions};
use std::fs::File;
use std::path::Path;

/// Iterates over the `Event`s of one event file.
///
/// Like TensorBoard's loader, a truncated last record (a writer still busy) ends the iteration
/// without an error; calling [`next`](Iterator::next) again later picks up records appended since.
/// An error (a corrupted record) is yielded once and ends the iteration for good.
///
/// # Examples
///
/// ```
/// use ferroflow_summary::{scalar, read_events, FileWriter};
/// # fn main() -> ferroflow_core::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let writer = FileWriter::new(dir.path())?;
/// writer.add_summary(&scalar("loss", 0.5), 7)?;
/// writer.close()?;
/// let events: Vec<_> = read_events(writer.path())?.collect::<ferroflow_core::Result<_>>()?;
/// assert_eq!(events.last().map(|e| e.step), Some(7));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct EventFileReader {
    records: RecordReader<File>,
    path: String,
    /// Set after an error: the iterator ends there instead of repeating it.
    failed: bool,
}

/// Opens an event file for reading; see [`EventFileReader`].
///
/// # Errors
/// The I/O code naming the path when it cannot be opened.
pub fn read_events(path: impl AsRef<Path>) -> Result<EventFileReader> {
    EventFileReader::open(path)
}

impl EventFileReader {
    /// Opens an event file for reading.
    ///
    /// # Errors
    /// The I/O code naming the path when it cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<EventFileReader> {
        let records = RecordReader::open(path.as_ref(), RecordReaderOptions::default())?;
        Ok(EventFileReader { records, path: path.as_ref().display().to_string(), failed: false })
    }

    /// The next event; `Ok(None)` at the end of what is written so far.
    ///
    /// # Errors
    /// `DataLoss` naming the file and offset for a corrupted record or a record that is not an
    /// `Event`; I/O codes for read errors.
    pub fn read_event(&mut self) -> Result<Option<Event>> {
        let offset = self.records.offset();
        match self.records.read_record()? {
            ReadOutcome::Record(bytes) => Event::decode(bytes.as_slice()).map(Some).map_err(|e| {
                Error::data_loss(format!("{}: record at offset {offset} is not an Event: {e}", self.path))
            }),
            ReadOutcome::End | ReadOutcome::Truncated { .. } => Ok(None),
        }
    }
}

impl Iterator for EventFileReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.read_event().transpose();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}
