//! `tf.data.TextLineDataset`: the lines of text files.

use crate::input_buffer::InputBuffer;
use crate::{
    Dataset, DatasetIterator, Element, ElementSpec, IteratorContext, IteratorStateReader, IteratorStateWriter,
};
use ferroflow_core::{DType, Error, Result, Tensor};
use ferroflow_record::Compression;
use std::path::PathBuf;

/// The lines of one or more files, as string scalars without their line ending (`\n` or `\r\n`).
///
/// Mirrors `tf.data.TextLineDataset(filenames, compression_type)`. Its iterator state is the file
/// index and byte offset: a plain file resumes with a seek.
#[derive(Debug)]
pub struct TextLineDataset {
    files: Vec<PathBuf>,
    compression: Compression,
    spec: ElementSpec,
}

impl TextLineDataset {
    /// The lines of `files`, in order.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty file list.
    pub fn new(files: Vec<PathBuf>, compression: Compression) -> Result<TextLineDataset> {
        if files.is_empty() {
            return Err(Error::invalid_argument("TextLineDataset needs at least one file"));
        }
        Ok(TextLineDataset { files, compression, spec: ElementSpec::scalar(DType::String) })
    }

    /// As a shared dataset.
    pub fn into_ref(self) -> crate::DatasetRef {
        std::sync::Arc::new(self)
    }
}

struct TextLineIterator {
    files: Vec<PathBuf>,
    compression: Compression,
    file: usize,
    current: Option<InputBuffer>,
    line: Vec<u8>,
}

impl Dataset for TextLineDataset {
    fn element_spec(&self) -> &ElementSpec {
        &self.spec
    }
    fn make_iterator(&self, _ctx: IteratorContext) -> Result<Box<dyn DatasetIterator>> {
        Ok(Box::new(TextLineIterator {
            files: self.files.clone(),
            compression: self.compression,
            file: 0,
            current: None,
            line: Vec::new(),
        }))
    }
}

impl TextLineIterator {
    /// The next line's bytes, or `None` at the end of the last file.
    fn next_line(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.files.get(self.file) else { return Ok(None) };
                self.current = Some(InputBuffer::open_at(path, self.compression, 0).inspect_err(|_| {
                    // A file that cannot be opened is skipped after reporting it once.
                    self.file += 1;
                })?);
            }
            let Some(buf) = self.current.as_mut() else { continue };
            match buf.read_line(&mut self.line) {
                Ok(true) => {
                    if self.line.last() == Some(&b'\n') {
                        self.line.pop();
                        if self.line.last() == Some(&b'\r') {
                            self.line.pop();
                        }
                    }
                    return Ok(Some(self.line.clone()));
                }
                Ok(false) => {
                    self.current = None;
                    self.file += 1;
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

impl DatasetIterator for TextLineIterator {
    fn next(&mut self) -> Result<Option<Element>> {
        Ok(self.next_line()?.map(|line| vec![Tensor::string(line)]))
    }
    fn next_strings(&mut self, n: usize, out: &mut Vec<Vec<u8>>) -> Result<usize> {
        crate::iterator::append_up_to(n, out, || self.next_line())
    }
    fn save(&self, w: &mut IteratorStateWriter) -> Result<()> {
        w.tag("text_line");
        w.u64(self.file as u64);
        w.u64(self.current.as_ref().map_or(0, InputBuffer::offset));
        Ok(())
    }
    fn restore(&mut self, r: &mut IteratorStateReader<'_>) -> Result<()> {
        r.expect_tag("text_line")?;
        self.file = r.usize()?;
        let offset = r.u64()?;
        self.current = match self.files.get(self.file) {
            Some(path) if offset > 0 => Some(InputBuffer::open_at(path, self.compression, offset)?),
            _ => None,
        };
        Ok(())
    }
}
