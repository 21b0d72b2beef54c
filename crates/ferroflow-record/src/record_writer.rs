//! Writing TFRecord streams, from `tsl/lib/io/record_writer.cc`.

use crate::masked_crc::masked_crc32c;
use crate::Compression;
use ferroflow_core::{Error, Result};
use flate2::write::{GzEncoder, ZlibEncoder};
use std::io::Write;

/// Length of the record header: the payload length (u64 LE) and its masked CRC (u32 LE).
pub const HEADER_LEN: usize = 12;
/// Length of the record footer: the payload's masked CRC (u32 LE).
pub const FOOTER_LEN: usize = 4;

/// The header of a record with a payload of `len` bytes.
pub fn encode_header(len: u64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    let len_bytes = len.to_le_bytes();
    header[..8].copy_from_slice(&len_bytes);
    header[8..].copy_from_slice(&masked_crc32c(&len_bytes).to_le_bytes());
    header
}

/// The footer of a record with this payload.
pub fn encode_footer(payload: &[u8]) -> [u8; FOOTER_LEN] {
    masked_crc32c(payload).to_le_bytes()
}

/// One framed record: header, payload and footer, exactly as TensorFlow writes it.
///
/// ```
/// let framed = ferroflow_record::encode_record(b"hello");
/// assert_eq!(framed.len(), 12 + 5 + 4);
/// assert_eq!(&framed[12..17], b"hello");
/// ```
pub fn encode_record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + FOOTER_LEN);
    out.extend_from_slice(&encode_header(payload.len() as u64));
    out.extend_from_slice(payload);
    out.extend_from_slice(&encode_footer(payload));
    out
}

enum Sink<W: Write> {
    Plain(W),
    Gzip(GzEncoder<W>),
    Zlib(ZlibEncoder<W>),
}

impl<W: Write> Sink<W> {
    fn as_write(&mut self) -> &mut dyn Write {
        match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
            Sink::Zlib(w) => w,
        }
    }
}

/// Writes records to any [`Write`], optionally compressing the whole stream.
///
/// Mirrors `tf.io.TFRecordWriter` (C++ `RecordWriter`). The writer does no buffering of its own: wrap
/// files in a [`std::io::BufWriter`]. A compressed stream is only complete after
/// [`into_inner`](RecordWriter::into_inner) (TF's `Close`), which writes the compressor's trailer.
///
/// # Examples
///
/// ```
/// use ferroflow_record::{Compression, RecordReader, RecordWriter};
/// # fn main() -> ferroflow_core::Result<()> {
/// let mut writer = RecordWriter::with_compression(Vec::new(), Compression::Gzip);
/// writer.write_record(b"a")?;
/// writer.write_record(b"bc")?;
/// let bytes = writer.into_inner()?;
/// assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
///
/// let records: Vec<Vec<u8>> =
///     RecordReader::with_compression(bytes.as_slice(), Compression::Gzip).collect::<Result<_, _>>()?;
/// assert_eq!(records, [b"a".to_vec(), b"bc".to_vec()]);
/// # Ok(())
/// # }
/// ```
pub struct RecordWriter<W: Write> {
    sink: Sink<W>,
    records: u64,
}

impl<W: Write> RecordWriter<W> {
    /// A writer of plain (uncompressed) records.
    pub fn new(inner: W) -> Self {
        Self::with_compression(inner, Compression::None)
    }

    /// A writer whose whole output stream is compressed as asked.
    pub fn with_compression(inner: W, compression: Compression) -> Self {
        let sink = match compression {
            Compression::None => Sink::Plain(inner),
            Compression::Gzip => Sink::Gzip(GzEncoder::new(inner, flate2::Compression::default())),
            Compression::Zlib => Sink::Zlib(ZlibEncoder::new(inner, flate2::Compression::default())),
        };
        RecordWriter { sink, records: 0 }
    }

    /// Appends one record.
    ///
    /// # Errors
    /// The I/O error of the underlying writer, converted to its code (`Unknown` for most), with the
    /// record number in the message.
    pub fn write_record(&mut self, payload: &[u8]) -> Result<()> {
        let record = self.records;
        let out = self.sink.as_write();
        // Three writes instead of one framed copy: payloads can be large, and the caller's BufWriter
        // makes small writes cheap.
        out.write_all(&encode_header(payload.len() as u64))
            .and_then(|()| out.write_all(payload))
            .and_then(|()| out.write_all(&encode_footer(payload)))
            .map_err(|e| Error::from(e).context(format_args!("writing record {record}")))?;
        self.records += 1;
        Ok(())
    }

    /// Flushes the underlying writer (and, when compressing, everything compressed so far).
    ///
    /// # Errors
    /// The I/O error of the underlying writer.
    pub fn flush(&mut self) -> Result<()> {
        self.sink.as_write().flush().map_err(|e| Error::from(e).context("flushing records"))
    }

    /// The number of records written so far.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// The underlying writer, read-only.
    pub fn get_ref(&self) -> &W {
        match &self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.get_ref(),
            Sink::Zlib(w) => w.get_ref(),
        }
    }

    /// Finishes the stream (writes the compression trailer, if any), flushes and returns the writer.
    ///
    /// # Errors
    /// The I/O error of the underlying writer.
    pub fn into_inner(self) -> Result<W> {
        let finished = match self.sink {
            Sink::Plain(w) => Ok(w),
            Sink::Gzip(w) => w.finish(),
            Sink::Zlib(w) => w.finish(),
        };
        let mut inner = finished.map_err(|e| Error::from(e).context("finishing record stream"))?;
        inner.flush().map_err(|e| Error::from(e).context("flushing records"))?;
        Ok(inner)
    }
}

impl<W: Write> std::fmt::Debug for RecordWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let compression = match self.sink {
            Sink::Plain(_) => Compression::None,
            Sink::Gzip(_) => Compression::Gzip,
            Sink::Zlib(_) => Compression::Zlib,
        };
        f.debug_struct("RecordWriter")
            .field("compression", &compression)
            .field("records", &self.records)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    #[test]
    fn spec_vectors_byte_identical() {
        // formats.md 1.1: what tf.io.TFRecordWriter writes for these payloads, in this order.
        let rows: [(&[u8], &str); 3] = [
            (b"", "00 00 00 00 00 00 00 00 29 03 98 07 d8 ea 82 a2"),
            (b"hello", "05 00 00 00 00 00 00 00 ea b2 04 3e 68 65 6c 6c 6f bb 1f 1c 19"),
            (b"\0\0\0", "03 00 00 00 00 00 00 00 b0 99 49 0e 00 00 00 a1 ab 77 e9"),
        ];
        let mut writer = RecordWriter::new(Vec::new());
        let mut want = Vec::new();
        for (payload, framed) in rows {
            assert_eq!(encode_record(payload), hex(framed), "payload {payload:?}");
            writer.write_record(payload).unwrap();
            want.extend(hex(framed));
        }
        assert_eq!(writer.records_written(), 3);
        assert_eq!(writer.into_inner().unwrap(), want);
    }

    #[test]
    fn compressed_streams_start_with_their_magic() {
        for (compression, magic) in [(Compression::Gzip, [0x1f, 0x8b]), (Compression::Zlib, [0x78, 0x9c])] {
            let mut writer = RecordWriter::with_compression(Vec::new(), compression);
            writer.write_record(b"x").unwrap();
            let bytes = writer.into_inner().unwrap();
            assert_eq!(bytes[..2], magic, "{compression:?}");
        }
    }
}
