//! TFRecord framing, byte-compatible with TensorFlow: length, masked CRC32C of the length, payload,
//! masked CRC32C of the payload.
//!
//! ```
//! use ferroflow_record::{RecordReader, RecordWriter};
//! # fn main() -> ferroflow_core::Result<()> {
//! let mut writer = RecordWriter::new(Vec::new());
//! writer.write_record(b"hello")?;
//! let bytes = writer.into_inner()?;
//! // What tf.io.TFRecordWriter writes for b"hello".
//! assert_eq!(bytes[8..12], [0xea, 0xb2, 0x04, 0x3e]);
//!
//! let records = RecordReader::new(bytes.as_slice()).collect::<ferroflow_core::Result<Vec<_>>>()?;
//! assert_eq!(records, [b"hello".to_vec()]);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![deny(unused_must_use)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod compression;
mod masked_crc;
mod record_reader;
mod record_writer;

pub use compression::Compression;
pub use masked_crc::{crc32c, mask, masked_crc32c, unmask};
pub use record_reader::{OnCorruption, ReadOutcome, RecordReader, RecordReaderOptions};
pub use record_writer::{encode_footer, encode_header, encode_record, RecordWriter, FOOTER_LEN, HEADER_LEN};
