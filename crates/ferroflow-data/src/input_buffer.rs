//! A buffered, position-counting reader of one input file, plain or compressed (TF's
//! `io::InputBuffer` over a `ZlibInputStream`), shared by the text, CSV and TFRecord sources.

use ferroflow_core::{Error, Result};
use ferroflow_record::Compression;
use flate2::read::{MultiGzDecoder, ZlibDecoder};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A reader of a file's (decompressed) bytes that knows its offset.
pub(crate) struct InputBuffer {
    inner: BufReader<Box<dyn Read + Send>>,
    offset: u64,
    path: PathBuf,
}

/// Opens `path`, failing with `NotFound` (or the I/O error's code) naming it.
pub(crate) fn open_file(path: &Path) -> Result<File> {
    File::open(path)
        .map_err(|e| Error::from(e).context(format_args!("opening input file {}", path.display())))
}

impl InputBuffer {
    /// Opens a file and positions it at `offset` of its decompressed stream: a seek for a plain
    /// file, a read-through for a compressed one (deflate streams cannot seek).
    pub(crate) fn open_at(path: &Path, compression: Compression, offset: u64) -> Result<InputBuffer> {
        let mut file = open_file(path)?;
        let inner: Box<dyn Read + Send> = match compression {
            Compression::None => {
                if offset > 0 {
                    file.seek(SeekFrom::Start(offset))
                        .map_err(|e| Error::from(e).context(format_args!("seeking in {}", path.display())))?;
                }
                Box::new(file)
            }
            Compression::Gzip => Box::new(MultiGzDecoder::new(file)),
            Compression::Zlib => Box::new(ZlibDecoder::new(file)),
        };
        let mut buf = InputBuffer {
            inner: BufReader::with_capacity(256 * 1024, inner),
            offset: if compression == Compression::None { offset } else { 0 },
            path: path.to_path_buf(),
        };
        if buf.offset < offset {
            let want = offset - buf.offset;
            let skipped = std::io::copy(&mut (&mut buf.inner).take(want), &mut std::io::sink())
                .map_err(|e| buf.io_error(e))?;
            buf.offset += skipped;
        }
        Ok(buf)
    }

    /// The offset of the next byte in the decompressed stream.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// An I/O error naming the file and offset.
    pub(crate) fn io_error(&self, e: std::io::Error) -> Error {
        Error::from(e).context(format_args!("reading {} at offset {}", self.path.display(), self.offset))
    }

    /// Reads through the next `\n` (kept), or to the end; returns `false` at the end of the file.
    pub(crate) fn read_line(&mut self, line: &mut Vec<u8>) -> Result<bool> {
        line.clear();
        let n = self.inner.read_until(b'\n', line).map_err(|e| self.io_error(e))?;
        self.offset += n as u64;
        Ok(n > 0)
    }
}
