//! TensorBoard event files for ferroflow: an asynchronous [`FileWriter`] as in TF1, a process-wide
//! [`SummaryWriterCache`], builders of `Summary` protos matching TF1's summary ops, and a reader.
//!
//! ```
//! use ferroflow_proto::{EventWhat, SummaryValueKind};
//! use ferroflow_summary::{histogram, read_events, scalar, FileWriter};
//! # fn main() -> ferroflow_core::Result<()> {
//! let logdir = tempfile::tempdir()?;
//! let writer = FileWriter::new(logdir.path())?;
//! for step in 0..10 {
//!     writer.add_summary(&scalar("loss", 1.0 / (1 + step) as f32), step)?;
//! }
//! writer.add_summary(&histogram("weights", &[0.1, 0.2, 0.2])?, 9)?;
//! writer.close()?;
//!
//! let events = read_events(writer.path())?.collect::<ferroflow_core::Result<Vec<_>>>()?;
//! assert_eq!(events[0].what, Some(EventWhat::FileVersion("brain.Event:2".into())));
//! let Some(EventWhat::Summary(s)) = &events[10].what else { unreachable!() };
//! assert_eq!(s.value[0].value, Some(SummaryValueKind::SimpleValue(0.1)));
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![deny(unused_must_use)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod event_file_reader;
mod event_file_writer;
mod histogram;
mod summary_builder;
mod summary_writer;
mod writer_cache;

pub use event_file_reader::{read_events, EventFileReader};
pub use event_file_writer::{EventFileWriter, EventFileWriterConfig, FILE_VERSION};
pub use histogram::{default_bucket_limits, Histogram};
pub use summary_builder::{histogram, histogram_proto, image, scalar, text, text_tensor, TEXT_PLUGIN_NAME};
pub use summary_writer::{FileWriter, SummaryInput};
pub use writer_cache::SummaryWriterCache;
