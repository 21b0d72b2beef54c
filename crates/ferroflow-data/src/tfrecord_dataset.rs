//! `tf.data.TFRecordDataset`: the records of TFRecord files, through `ferroflow-record`.

use crate::input_buffer::open_file;
use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{DType, Error, Result, Tensor};
use ferroflow_record::{Compression, OnCorruption, ReadOutcome, RecordReader, RecordReaderOptions};
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;

/// The records of one or more TFRecord files, as string scalars.
///
/// Mirrors `tf.data.TFRecordDataset(filenames, compression_type)`:
/// - a missing file is `NotFound` naming it;
/// - a corrupt record is `DataLoss` naming the file and offset (unless
///   [`skip_corrupted_records`](TFRecordDataset::skip_corrupted_records) is set); the iterator then
///   goes on with the next file, so under [`ignore_errors`](crate::DatasetExt::ignore_errors) the rest
///   of a corrupt file is dropped (TF would retry the same record);
/// - a file cut inside a record is `DataLoss` too.
///
/// Its iterator state is the file index and the offset of the next record: a plain file resumes with
/// a seek, a compressed one by reading up to the offset.
#[derive(Debug, Clone)]
pub struct TFRecordDataset {
    files: Vec<PathBuf>,
    options: RecordReaderOptions,
    spec: ElementSpec,
}

impl TFRecordDataset {
    /// The records of `files`, in order.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty file list.
    pub fn new(files: Vec<PathBuf>, compression: Compression) -> Result<TFRecordDataset> {
        if files.is_empty() {
            return Err(Error::invalid_argument("TFRecordDataset needs at least one file"));
        }
        Ok(TFRecordDataset {
            files,
            options: RecordReaderOptions { compression, on_corruption: OnCorruption::Fail },
            spec: ElementSpec::scalar(DType::String),
        })
    }

    /// Skips corrupt records (scanning for the next good one, with a warning) instead of failing.
    /// By default, corruption is `DataLoss`, as in TF.
    pub fn skip_corrupted_records(mut self, skip: bool) -> TFRecordDataset {
        self.options.on_corruption = if skip { OnCorruption::SkipToNextRecord } else { OnCorruption::Fail };
        self
    }

    /// As a shared dataset.
    pub fn into_ref(self) -> crate::DatasetRef {
        std::sync::Arc::new(self)
    }
}

struct Current {
    reader: RecordReader<BufReader<File>>,
    /// Where `reader`'s offset 0 is in the decompressed stream (non-zero after a resume by seek).
    base: u64,
}

struct TFRecordIterator {
    files: Vec<PathBuf>,
    options: RecordReaderOptions,
    file: usize,
    current: Option<Current>,
}

impl Dataset for TFRecordDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(TFRecordIterator {
            files: self.files.clone(),
            options: self.options,
            file: 0,
            current: None,
        }))
    }
}

impl TFRecordIterator {
    fn open(&self, index: usize, offset: u64) -> Result<Option<Current>> {
        let Some(path) = self.files.get(index) else { return Ok(None) };
        let mut file = open_file(path)?;
        let plain = self.options.compression == Compression::None;
        let mut name = path.display().to_string();
        let mut base = 0;
        if plain && offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::from(e).context(format_args!("seeking in {name}")))?;
            base = offset;
            // The reader counts from where it starts; say so, so offsets in errors stay meaningful.
            name = format!("{name} (resumed at byte {offset}; offsets below are relative)");
        }
        // The record reader refills its own buffer in steps of 64 KiB or more. Reads that large go
        // around a smaller `BufReader` straight into that buffer, which saves copying every plain
        // file's bytes once more; a decompressor reads in small pieces and gets a large buffer.
        let capacity = if plain { 16 * 1024 } else { 256 * 1024 };
        let reader =
            RecordReader::with_options(BufReader::with_capacity(capacity, file), self.options).named(name);
        let mut current = Current { reader, base };
        while current.base + current.reader.offset() < offset {
            match current.reader.read_record()? {
                ReadOutcome::Record(_) => {}
                _ => break,
            }
        }
        Ok(Some(current))
    }
}

impl TFRecordIterator {
    /// The next record's payload, or `None` at the end of the last file.
    fn next_record(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if self.current.is_none() {
                if self.file >= self.files.len() {
                    return Ok(None);
                }
                match self.open(self.file, 0) {
                    Ok(c) => self.current = c,
                    Err(e) => {
                        self.file += 1;
                        return Err(e);
                    }
                }
            }
            let Some(cur) = self.current.as_mut() else { return Ok(None) };
            let outcome = cur.reader.read_record();
            match outcome {
                Ok(ReadOutcome::Record(payload)) => return Ok(Some(payload)),
                Ok(ReadOutcome::End) => {
                    self.current = None;
                    self.file += 1;
                }
                Ok(ReadOutcome::Truncated { offset, available }) => {
                    let path = self.files.get(self.file).map(|p| p.display().to_string()).unwrap_or_default();
                    let at = cur.base + offset;
                    self.current = None;
                    self.file += 1;
                    return Err(Error::data_loss(format!(
                        "truncated record at offset {at} in {path} ({available} bytes of it present)"
                    )));
                }
                Err(e) => {
                    self.current = None;
                    self.file += 1;
                    return Err(e);
                }
            }
        }
    }
}

impl DatasetIterator for TFRecordIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        Ok(self.next_record()?.map(|payload| vec![Tensor::string(payload)]))
    }
    fn next_strings(&mut self, n: usize, out: &mut Vec<Vec<u8>>) -> Result<usize> {
        crate::iterator::append_up_to(n, out, || self.next_record())
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("tfrecord");
        w.u64(self.file as u64);
        w.u64(self.current.as_ref().map_or(0, |c| c.base + c.reader.offset()));
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("tfrecord")?;
        self.file = r.usize()?;
        let offset = r.u64()?;
        self.current = if offset > 0 { self.open(self.file, offset)? } else { None };
        Ok(())
    }
}
