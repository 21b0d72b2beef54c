#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of ferroflow-summary: TF golden files, the TensorBoard oracle, writer lifecycle.

mod golden;
mod tensorboard_oracle;
mod writer_lifecycle;

use ferroflow_proto::{Event, EventWhat, SummaryValue};
use std::path::{Path, PathBuf};

/// The event files of a directory, in TensorBoard's (name) order.
pub(crate) fn event_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("tfevents"))
        .collect();
    files.sort();
    files
}

/// Every event of a file.
pub(crate) fn events_of(path: &Path) -> Vec<Event> {
    ferroflow_summary::read_events(path).unwrap().collect::<ferroflow_core::Result<_>>().unwrap()
}

/// The summary values of an event, if it is a summary.
pub(crate) fn values(event: &Event) -> &[SummaryValue] {
    match &event.what {
        Some(EventWhat::Summary(s)) => &s.value,
        _ => &[],
    }
}
