//! Reading TFRecord streams, from `tsl/lib/io/record_reader.cc`, with the tailing behaviour
//! TensorBoard needs for event files that are still being written.

use crate::masked_crc::masked_crc32c;
use crate::record_writer::{FOOTER_LEN, HEADER_LEN};
use crate::Compression;
use ferroflow_core::{Error, Result};
use flate2::read::{MultiGzDecoder, ZlibDecoder};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// The smallest read from the source; the buffer grows by at most 16 of these per read call.
const READ_CHUNK: usize = 64 * 1024;

/// What [`RecordReader::read_record`] found at the current offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A complete record whose CRCs check out.
    Record(Vec<u8>),
    /// A clean end of the stream at a record boundary.
    End,
    /// The stream ends inside a record (its header, payload or footer is cut short).
    ///
    /// For a file that is still being written (an event file), this is not an error: call
    /// [`read_record`](RecordReader::read_record) again later and the reader resumes at the same
    /// record, keeping the bytes it already has.
    Truncated {
        /// Offset of the incomplete record in the (decompressed) stream.
        offset: u64,
        /// How many of its bytes are there so far.
        available: u64,
    },
}

/// What the reader does with a record whose CRC does not match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnCorruption {
    /// Return `DataLoss` naming the offset, as TensorFlow does.
    #[default]
    Fail,
    /// Log a warning and go on with the next good record: past the record when only its payload CRC
    /// is wrong (its length is trustworthy), otherwise by scanning forward byte by byte for a header
    /// whose CRC matches.
    SkipToNextRecord,
}

/// Options of a [`RecordReader`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RecordReaderOptions {
    /// Whole-stream compression of the input. By default, none.
    pub compression: Compression,
    /// What to do with a corrupted record. By default, fail with `DataLoss`.
    pub on_corruption: OnCorruption,
}

enum Source<R: Read> {
    Plain(R),
    // Multi-member, because concatenated gzip files are valid gzip and TF's zlib reader accepts them.
    Gzip(MultiGzDecoder<R>),
    Zlib(ZlibDecoder<R>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
            Source::Zlib(r) => r.read(buf),
        }
    }
}

/// Reads records from any [`Read`].
///
/// Mirrors TF's `RecordReader`/`tf.data.TFRecordDataset` framing rules:
/// - a clean end at a record boundary ends the stream ([`ReadOutcome::End`]);
/// - a record cut short is reported as [`ReadOutcome::Truncated`], distinct from corruption, so a
///   tailer can retry later from the same record;
/// - a bad length or payload CRC is `DataLoss` with the byte offset in the message, unless
///   [`OnCorruption::SkipToNextRecord`] is set.
///
/// As an [`Iterator`] it yields `Result<Vec<u8>>` and treats a truncated tail as `DataLoss`, as
/// `tf.data` does. Offsets count bytes of the decompressed stream. The reader buffers internally, so a
/// [`File`] needs no [`std::io::BufReader`].
///
/// # Examples
///
/// ```
/// use ferroflow_record::{encode_record, ReadOutcome, RecordReader};
/// # fn main() -> ferroflow_core::Result<()> {
/// let mut bytes = encode_record(b"first");
/// bytes.extend_from_slice(&encode_record(b"second")[..5]); // a writer is still busy
/// let mut reader = RecordReader::new(bytes.as_slice());
/// assert_eq!(reader.read_record()?, ReadOutcome::Record(b"first".to_vec()));
/// assert_eq!(reader.read_record()?, ReadOutcome::Truncated { offset: 21, available: 5 });
/// # Ok(())
/// # }
/// ```
pub struct RecordReader<R: Read> {
    source: Source<R>,
    name: Option<String>,
    on_corruption: OnCorruption,
    /// Bytes read from the source in `buf[start..end]`; what lies past `end` is space for the next
    /// read, kept between reads so that it is not zero-filled again for each one.
    buf: Vec<u8>,
    /// Index in `buf` of the first byte of the next record.
    start: usize,
    /// Index in `buf` past the last byte read.
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    corrupted_records: u64,
    skipped_bytes: u64,
    /// Set once the iterator has returned its last item.
    finished: bool,
}

impl RecordReader<File> {
    /// Opens a file of records; error messages name the path.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied` or another I/O code, naming the path.
    pub fn open(path: impl AsRef<Path>, options: RecordReaderOptions) -> Result<RecordReader<File>> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|e| Error::from(e).context(format_args!("opening {}", path.display())))?;
        Ok(RecordReader::with_options(file, options).named(path.display().to_string()))
    }
}

impl<R: Read> RecordReader<R> {
    /// A reader of plain records that fails on corruption.
    pub fn new(inner: R) -> Self {
        Self::with_options(inner, RecordReaderOptions::default())
    }

    /// A reader of a compressed stream that fails on corruption.
    pub fn with_compression(inner: R, compression: Compression) -> Self {
        Self::with_options(inner, RecordReaderOptions { compression, ..Default::default() })
    }

    /// A reader with all options.
    pub fn with_options(inner: R, options: RecordReaderOptions) -> Self {
        let source = match options.compression {
            Compression::None => Source::Plain(inner),
            Compression::Gzip => Source::Gzip(MultiGzDecoder::new(inner)),
            Compression::Zlib => Source::Zlib(ZlibDecoder::new(inner)),
        };
        RecordReader {
            source,
            name: None,
            on_corruption: options.on_corruption,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            corrupted_records: 0,
            skipped_bytes: 0,
            finished: false,
        }
    }

    /// Names the stream (usually its path) in error messages. By default, messages name only offsets.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Offset of the next record in the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many corrupted records were skipped (with [`OnCorruption::SkipToNextRecord`]).
    pub fn corrupted_records(&self) -> u64 {
        self.corrupted_records
    }

    /// How many bytes were skipped over corrupted records.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped_bytes
    }

    /// Reads the next record, or says why there is none.
    ///
    /// After [`ReadOutcome::End`] or [`ReadOutcome::Truncated`] it may be called again: bytes appended
    /// to the source since then are picked up.
    ///
    /// # Errors
    /// - `DataLoss` for a bad length or payload CRC (with [`OnCorruption::Fail`]), or for a length that
    ///   does not fit in memory; the message names the stream and the record's offset.
    /// - The code of an I/O error of the source (`DataLoss` for a compressed stream cut short).
    pub fn read_record(&mut self) -> Result<ReadOutcome> {
        loop {
            if !self.fill(HEADER_LEN)? {
                return Ok(self.incomplete());
            }
            let header = &self.buf[self.start..self.start + HEADER_LEN];
            let (len_bytes, crc_bytes) = header.split_at(8);
            let len = u64::from_le_bytes(le_array(len_bytes));
            if masked_crc32c(len_bytes) != u32::from_le_bytes(le_array(crc_bytes)) {
                let err = self.corruption("bad length crc");
                self.on_bad_header(err)?;
                continue;
            }
            let total = usize::try_from(len)
                .ok()
                .and_then(|len| len.checked_add(HEADER_LEN + FOOTER_LEN))
                .ok_or_else(|| self.corruption(&format!("record length {len} does not fit in memory")))?;
            if !self.fill(total)? {
                return Ok(self.incomplete());
            }
            let body = self.start + HEADER_LEN;
            let payload_end = self.start + total - FOOTER_LEN;
            let payload = &self.buf[body..payload_end];
            let footer = &self.buf[payload_end..self.start + total];
            if masked_crc32c(payload) != u32::from_le_bytes(le_array(footer)) {
                let err = self.corruption("bad data crc");
                match self.on_corruption {
                    OnCorruption::Fail => return Err(err),
                    OnCorruption::SkipToNextRecord => {
                        tracing::warn!(error = %err, "skipping corrupted record");
                        self.corrupted_records += 1;
                        self.skipped_bytes += total as u64;
                        self.consume(total);
                        continue;
                    }
                }
            }
            let record = payload.to_vec();
            self.consume(total);
            return Ok(ReadOutcome::Record(record));
        }
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    fn incomplete(&self) -> ReadOutcome {
        match self.available() {
            0 => ReadOutcome::End,
            n => ReadOutcome::Truncated { offset: self.offset, available: n as u64 },
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn corruption(&self, what: &str) -> Error {
        let offset = self.offset;
        match &self.name {
            Some(name) => Error::data_loss(format!("{name}: corrupted record at offset {offset}: {what}")),
            None => Error::data_loss(format!("corrupted record at offset {offset}: {what}")),
        }
    }

    /// A header whose CRC fails says nothing trustworthy about where the next record starts, so scan.
    fn on_bad_header(&mut self, err: Error) -> Result<()> {
        if self.on_corruption == OnCorruption::Fail {
            return Err(err);
        }
        tracing::warn!(error = %err, "scanning for the next record header");
        self.corrupted_records += 1;
        self.consume(1);
        self.skipped_bytes += 1;
        loop {
            if !self.fill(HEADER_LEN)? {
                // Keep the tail: it may be the beginning of a header still being written.
                return Ok(());
            }
            let header = &self.buf[self.start..self.start + HEADER_LEN];
            if masked_crc32c(&header[..8]) == u32::from_le_bytes(le_array(&header[8..])) {
                return Ok(());
            }
            self.consume(1);
            self.skipped_bytes += 1;
        }
    }

    /// Makes sure `n` bytes from `start` are buffered; `false` when the source ends first.
    fn fill(&mut self, n: usize) -> Result<bool> {
        while self.available() < n {
            if self.start > 0 {
                // Compact before growing so the buffer stays about one record plus one chunk.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let old = self.end;
            // Grow by what arrives, never by what a (possibly corrupt) length claims.
            let want = (n - self.available()).clamp(READ_CHUNK, 16 * READ_CHUNK);
            if self.buf.len() < old + want {
                self.buf.resize(old + want, 0);
            }
            let got = loop {
                match self.source.read(&mut self.buf[old..old + want]) {
                    Ok(got) => break got,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let err = Error::from(e);
                        let at = format!("reading record at offset {}", self.offset);
                        return Err(match &self.name {
                            Some(name) => err.context(format_args!("{name}: {at}")),
                            None => err.context(at),
                        });
                    }
                }
            };
            self.end = old + got.min(want);
            if got == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn le_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = match self.read_record() {
            Ok(ReadOutcome::Record(record)) => return Some(Ok(record)),
            Ok(ReadOutcome::End) => None,
            Ok(ReadOutcome::Truncated { offset, available }) => {
                let what = format!("truncated record at offset {offset} ({available} bytes)");
                Some(Err(match &self.name {
                    Some(name) => Error::data_loss(format!("{name}: {what}")),
                    None => Error::data_loss(what),
                }))
            }
            Err(e) => Some(Err(e)),
        };
        self.finished = true;
        item
    }
}

impl<R: Read> std::fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("name", &self.name)
            .field("offset", &self.offset)
            .field("on_corruption", &self.on_corruption)
            .field("corrupted_records", &self.corrupted_records)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_record, RecordWriter};
    use ferroflow_core::Code;

    fn stream(payloads: &[&[u8]]) -> Vec<u8> {
        payloads.iter().flat_map(|p| encode_record(p)).collect()
    }

    fn skipping() -> RecordReaderOptions {
        RecordReaderOptions { on_corruption: OnCorruption::SkipToNextRecord, ..Default::default() }
    }

    #[test]
    fn reads_spec_vectors() {
        let bytes = stream(&[b"", b"hello", b"\0\0\0"]);
        let got: Vec<Vec<u8>> = RecordReader::new(bytes.as_slice()).collect::<Result<_>>().unwrap();
        assert_eq!(got, [b"".to_vec(), b"hello".to_vec(), b"\0\0\0".to_vec()]);
    }

    #[test]
    fn truncation_at_every_cut_is_reported_not_corruption() {
        let bytes = stream(&[b"abc", b"defgh"]);
        let first = encode_record(b"abc").len();
        for cut in 0..bytes.len() {
            let mut reader = RecordReader::new(&bytes[..cut]);
            let mut records = 0;
            let outcome = loop {
                match reader.read_record().unwrap() {
                    ReadOutcome::Record(_) => records += 1,
                    other => break other,
                }
            };
            let boundary = cut == 0 || cut == first;
            if boundary {
                assert_eq!(outcome, ReadOutcome::End, "cut {cut}");
            } else {
                let offset = if cut < first { 0 } else { first as u64 };
                assert_eq!(
                    outcome,
                    ReadOutcome::Truncated { offset, available: cut as u64 - offset },
                    "cut {cut}"
                );
            }
            assert_eq!(records, usize::from(cut >= first), "cut {cut}");
        }
    }

    #[test]
    fn resumes_after_truncation_when_more_bytes_arrive() {
        // A source that hands out a growing file, like a tailer re-reading an event file.
        struct Growing {
            data: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
            pos: usize,
        }
        impl Read for Growing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let data = self.data.borrow();
                let n = buf.len().min(data.len() - self.pos);
                buf[..n].copy_from_slice(&data[self.pos..self.pos + n]);
                self.pos += n;
                Ok(n)
            }
        }
        let full = stream(&[b"one", b"two"]);
        let data = std::rc::Rc::new(std::cell::RefCell::new(full[..25].to_vec()));
        let mut reader = RecordReader::new(Growing { data: data.clone(), pos: 0 });
        assert_eq!(reader.read_record().unwrap(), ReadOutcome::Record(b"one".to_vec()));
        assert!(matches!(reader.read_record().unwrap(), ReadOutcome::Truncated { offset: 19, .. }));
        data.borrow_mut().extend_from_slice(&full[25..]);
        assert_eq!(reader.read_record().unwrap(), ReadOutcome::Record(b"two".to_vec()));
        assert_eq!(reader.read_record().unwrap(), ReadOutcome::End);
    }

    #[test]
    fn bad_crcs_are_data_loss_with_offset() {
        let good = stream(&[b"abc", b"defgh", b"ij"]);
        let second = encode_record(b"abc").len();
        // (byte to flip, reason)
        let rows = [
            (second + 2, "length byte: header crc fails"),
            (second + 9, "header crc byte"),
            (second + 13, "payload byte: data crc fails"),
            (second + 12 + 5 + 1, "footer byte"),
        ];
        for (flip, why) in rows {
            let mut bytes = good.clone();
            bytes[flip] ^= 0x40;
            let mut reader = RecordReader::new(bytes.as_slice()).named("f.tfrecord");
            assert_eq!(reader.read_record().unwrap(), ReadOutcome::Record(b"abc".to_vec()), "{why}");
            let err = reader.read_record().unwrap_err();
            assert_eq!(err.code(), Code::DataLoss, "{why}");
            assert!(err.message().contains(&format!("offset {second}")), "{why}: {err}");
            assert!(err.message().contains("f.tfrecord"), "{why}: {err}");

            let got: Vec<Vec<u8>> =
                RecordReader::with_options(bytes.as_slice(), skipping()).collect::<Result<_>>().unwrap();
            assert_eq!(got, [b"abc".to_vec(), b"ij".to_vec()], "{why}: skip mode");
        }
    }

    #[test]
    fn skip_mode_scans_past_garbage() {
        let mut bytes = encode_record(b"first");
        bytes.extend_from_slice(&[0xff; 37]);
        bytes.extend(encode_record(b"second"));
        let mut reader = RecordReader::with_options(bytes.as_slice(), skipping());
        let got: Vec<Vec<u8>> = reader.by_ref().collect::<Result<_>>().unwrap();
        assert_eq!(got, [b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(reader.corrupted_records(), 1);
        assert_eq!(reader.skipped_bytes(), 37);
    }

    #[test]
    fn huge_length_with_valid_crc_is_truncated_not_allocated() {
        let mut bytes = crate::record_writer::encode_header(u64::MAX / 2).to_vec();
        bytes.extend_from_slice(b"tiny");
        let mut reader = RecordReader::new(bytes.as_slice());
        match reader.read_record() {
            Ok(ReadOutcome::Truncated { offset: 0, .. }) => {}
            Err(e) => assert_eq!(e.code(), Code::DataLoss),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn compressed_round_trip() {
        for compression in [Compression::None, Compression::Gzip, Compression::Zlib] {
            let mut writer = RecordWriter::with_compression(Vec::new(), compression);
            for i in 0..100u32 {
                writer.write_record(&i.to_le_bytes().repeat(i as usize)).unwrap();
            }
            let bytes = writer.into_inner().unwrap();
            let got: Vec<Vec<u8>> =
                RecordReader::with_compression(bytes.as_slice(), compression).collect::<Result<_>>().unwrap();
            assert_eq!(got.len(), 100, "{compression:?}");
            assert_eq!(got[7], 7u32.to_le_bytes().repeat(7), "{compression:?}");
        }
    }

    #[test]
    fn records_across_refills_and_buffer_growth() {
        // A source that hands out at most `step` bytes per read, so records straddle refills.
        struct Trickle<'a> {
            data: &'a [u8],
            step: usize,
        }
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.step).min(self.data.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                self.data = &self.data[n..];
                Ok(n)
            }
        }
        // Around and well past one read chunk, with small records between large ones.
        let sizes = [3, READ_CHUNK - 16, 0, READ_CHUNK + 5, 17, 20 * READ_CHUNK, 1, 2 * READ_CHUNK];
        let payloads: Vec<Vec<u8>> =
            sizes.iter().enumerate().map(|(i, &n)| (0..n).map(|j| (i * 31 + j) as u8).collect()).collect();
        let bytes: Vec<u8> = payloads.iter().flat_map(|p| encode_record(p)).collect();
        for step in [7, 4096, READ_CHUNK + 3, usize::MAX] {
            let mut reader = RecordReader::new(Trickle { data: &bytes, step });
            let mut offset = 0u64;
            for (i, p) in payloads.iter().enumerate() {
                assert_eq!(reader.offset(), offset, "step {step}, record {i}");
                assert_eq!(
                    reader.read_record().unwrap(),
                    ReadOutcome::Record(p.clone()),
                    "step {step}, record {i}"
                );
                offset += (p.len() + HEADER_LEN + FOOTER_LEN) as u64;
            }
            assert_eq!(reader.read_record().unwrap(), ReadOutcome::End, "step {step}");
            assert_eq!(reader.offset(), bytes.len() as u64, "step {step}");
        }
    }
}
