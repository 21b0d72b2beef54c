//! `tf.compat.v1.summary.FileWriterCache` (`tensorflow/python/summary/writer/writer_cache.py`).

use crate::FileWriter;
use ferroflow_core::Result;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

static CACHE: LazyLock<Mutex<HashMap<PathBuf, Arc<FileWriter>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// One shared [`FileWriter`] per log directory, for the whole process.
///
/// Mirrors TF1's `SummaryWriterCache` (`FileWriterCache`): hooks such as `SummarySaverHook` and
/// `StepCounterHook` that log to the same directory share one writer, hence one event file. Keys are
/// the paths as given (TF keys on the string too). Cached writers live until [`clear`](Self::clear):
/// like TF's, they are not flushed at process exit, so flush them (as `SummarySaverHook.end` does) or
/// clear the cache before exiting.
///
/// # Examples
///
/// ```
/// use ferroflow_summary::SummaryWriterCache;
/// use std::sync::Arc;
/// # fn main() -> ferroflow_core::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let a = SummaryWriterCache::get(dir.path())?;
/// let b = SummaryWriterCache::get(dir.path())?;
/// assert!(Arc::ptr_eq(&a, &b));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SummaryWriterCache {
    _private: (),
}

impl SummaryWriterCache {
    /// The writer for `logdir`, created on first use with TF1's defaults.
    ///
    /// # Errors
    /// As [`FileWriter::new`] when the writer has to be created.
    pub fn get(logdir: impl AsRef<Path>) -> Result<Arc<FileWriter>> {
        let mut cache = CACHE.lock();
        if let Some(writer) = cache.get(logdir.as_ref()) {
            return Ok(Arc::clone(writer));
        }
        let writer = Arc::new(FileWriter::new(logdir.as_ref())?);
        cache.insert(logdir.as_ref().to_path_buf(), Arc::clone(&writer));
        Ok(writer)
    }

    /// Closes every cached writer and forgets them.
    ///
    /// # Errors
    /// The first error of a writer's close; every writer is closed and removed regardless.
    pub fn clear() -> Result<()> {
        let writers: Vec<Arc<FileWriter>> = CACHE.lock().drain().map(|(_, w)| w).collect();
        let mut first = Ok(());
        for writer in writers {
            if let Err(e) = writer.close() {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }
}
