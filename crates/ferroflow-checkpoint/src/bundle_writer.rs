//! Writes a V2 tensor bundle (`tensor_bundle.cc` `BundleWriter`): `<prefix>.data-00000-of-00001` with the
//! tensors' bytes in the order they were added, and `<prefix>.index` with one entry per tensor, sorted.
//!
//! Lifecycle:
//! 1. [`BundleWriter::new`] creates the directory and a temporary data file.
//! 2. [`BundleWriter::add`] appends each tensor's bytes to it at once, so memory stays flat however large
//!    the checkpoint.
//! 3. [`BundleWriter::finish`] fsyncs the data, writes the index to a temporary file and fsyncs it, renames
//!    the data file and then the index into place, and fsyncs the directory. A crash at any point leaves
//!    either no `.index` or an index whose data is complete.
//! 4. Dropping an unfinished writer removes its temporary files.

use crate::atomic_file::{parent_dir, rename, sync_dir, temp_path};
use crate::coding::{put_fixed32, put_varint64};
use crate::masked_crc;
use crate::naming::{data_filename, index_filename};
use crate::table_builder::{TableBuilder, TableOptions};
use ferroflow_core::ndarray::{ArcArray, IxDyn};
use ferroflow_core::{Error, Result, Tensor};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{BundleEntryProto, BundleHeaderProto, Endianness, TensorShapeProto, VersionDef};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// `kTensorBundleVersion`: the producer version TF writes and the consumer version it reads as.
pub(crate) const TENSOR_BUNDLE_VERSION: i32 = 1;

// Small tensors are gathered into one write; large ones bypass the buffer and go straight from the
// tensor's memory to the file.
const DATA_BUFFER_BYTES: usize = 1 << 20;

/// Large tensors are checksummed and copied in chunks of this size (fits in L2 cache).
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// Writes one checkpoint's tensor bundle, byte-identical to what TensorFlow's `BundleWriter` (and so
/// `tf.raw_ops.SaveV2`) writes for the same tensors added in the same order.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{BundleReader, BundleWriter};
/// use ferroflow_core::Tensor;
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let prefix = dir.path().join("model.ckpt-1");
/// let mut writer = BundleWriter::new(&prefix)?;
/// writer.add("w", &Tensor::from_vec(&[2], vec![1.0f32, 2.0])?)?;
/// writer.add("global_step", &Tensor::scalar(1i64))?;
/// writer.finish()?;
///
/// let reader = BundleReader::open(&prefix)?;
/// assert_eq!(reader.read("w")?.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BundleWriter {
    prefix: PathBuf,
    durability: Durability,
    tmp_data_path: PathBuf,
    data: Option<BufWriter<File>>,
    offset: u64,
    entries: BTreeMap<String, BundleEntryProto>,
}

impl BundleWriter {
    /// Starts a bundle at `prefix` (`dir/model.ckpt-21` gives `dir/model.ckpt-21.index` and
    /// `dir/model.ckpt-21.data-00000-of-00001`), creating the directory if needed, as TF does.
    ///
    /// # Errors
    /// The I/O error's code (`PermissionDenied`, ...) naming the path that failed.
    pub fn new(prefix: impl AsRef<Path>) -> Result<BundleWriter> {
        let prefix = prefix.as_ref().to_path_buf();
        let dir = parent_dir(&prefix);
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::from(e).context(format_args!("creating checkpoint directory {}", dir.display()))
        })?;
        let tmp_data_path = temp_path(&data_filename(&prefix, 0, 1));
        let file = File::create(&tmp_data_path)
            .map_err(|e| Error::from(e).context(format_args!("creating {}", tmp_data_path.display())))?;
        Ok(BundleWriter {
            prefix,
            durability: Durability::Fsync,
            tmp_data_path,
            data: Some(BufWriter::with_capacity(DATA_BUFFER_BYTES, file)),
            offset: 0,
            entries: BTreeMap::new(),
        })
    }

    /// Chooses whether [`finish`](Self::finish) fsyncs.
    ///
    /// By default, [`Durability::Fsync`].
    pub fn set_durability(&mut self, durability: Durability) {
        self.durability = durability;
    }

    /// The checkpoint prefix this writer writes.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Appends a tensor under `key` (a TF variable name such as `dense/kernel`).
    ///
    /// # Errors
    /// `InvalidArgument` for an empty key (reserved for the header) or a key already added; an I/O error's
    /// code naming the data file.
    pub fn add(&mut self, key: &str, tensor: &Tensor) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid_argument(format!(
                "{}: a tensor key must not be empty (the empty key holds the bundle header)",
                self.prefix.display()
            )));
        }
        if self.entries.contains_key(key) {
            return Err(Error::invalid_argument(format!(
                "{}: adding duplicate key {key}",
                self.prefix.display()
            )));
        }
        let (size, crc) = match tensor {
            Tensor::F32(a) => self.write_pod(a)?,
            Tensor::F64(a) => self.write_pod(a)?,
            Tensor::I32(a) => self.write_pod(a)?,
            Tensor::I64(a) => self.write_pod(a)?,
            Tensor::U8(a) => self.write_pod(a)?,
            Tensor::Bool(a) => self.write_pod(a)?,
            Tensor::String(a) => {
                let (bytes, crc) = encode_strings(a);
                self.write_bytes(&bytes)?;
                (bytes.len() as u64, crc)
            }
        };
        let entry = BundleEntryProto {
            dtype: tensor.dtype().to_proto(),
            shape: Some(TensorShapeProto::from_dims(tensor.shape())),
            shard_id: 0,
            offset: to_i64(self.offset)?,
            size: to_i64(size)?,
            crc32c: masked_crc::mask(crc),
            slices: Vec::new(),
        };
        self.offset += size;
        self.entries.insert(key.to_string(), entry);
        Ok(())
    }

    /// Writes the index and moves both files into place (data first, index last), durably.
    ///
    /// # Errors
    /// An I/O error's code naming the file that failed; the temporary files are removed.
    pub fn finish(mut self) -> Result<()> {
        let data_path = data_filename(&self.prefix, 0, 1);
        let index_path = index_filename(&self.prefix);
        let tmp_index_path = temp_path(&index_path);
        let result = self.finish_files(&data_path, &index_path, &tmp_index_path);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp_index_path);
            let _ = std::fs::remove_file(&self.tmp_data_path);
        }
        result
    }

    fn finish_files(&mut self, data_path: &Path, index_path: &Path, tmp_index_path: &Path) -> Result<()> {
        let data = self.data.take().ok_or_else(|| Error::internal("bundle writer finished twice"))?;
        let file = data.into_inner().map_err(|e| {
            Error::from(e.into_error()).context(format_args!("writing {}", self.tmp_data_path.display()))
        })?;
        let sync = self.durability == Durability::Fsync;
        if sync {
            file.sync_all().map_err(|e| {
                Error::from(e).context(format_args!("syncing {}", self.tmp_data_path.display()))
            })?;
        }
        drop(file);

        let index = self.build_index()?;
        (|| -> std::io::Result<()> {
            let mut f = File::create(tmp_index_path)?;
            f.write_all(&index)?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })()
        .map_err(|e| Error::from(e).context(format_args!("writing {}", tmp_index_path.display())))?;

        rename(&self.tmp_data_path, data_path)?;
        rename(tmp_index_path, index_path)?;
        if sync {
            sync_dir(parent_dir(&self.prefix))?;
        }
        tracing::debug!(prefix = %self.prefix.display(), tensors = self.entries.len(), bytes = self.offset, "wrote tensor bundle");
        Ok(())
    }

    fn build_index(&self) -> Result<Vec<u8>> {
        let header = BundleHeaderProto {
            num_shards: 1,
            endianness: Endianness::Little as i32,
            version: Some(VersionDef { producer: TENSOR_BUNDLE_VERSION, ..Default::default() }),
        };
        let mut table = TableBuilder::new(TableOptions::default());
        table.add(b"", &header.encode_to_vec())?;
        for (key, entry) in &self.entries {
            table.add(key.as_bytes(), &entry.encode_to_vec())?;
        }
        Ok(table.finish())
    }

    /// Writes a numeric tensor's elements straight from its memory; returns (size, unmasked CRC).
    fn write_pod<T: bytemuck::NoUninit>(&mut self, a: &ArcArray<T, IxDyn>) -> Result<(u64, u32)> {
        // Standard-layout arrays (the usual case) are written without a copy.
        let standard = a.as_standard_layout();
        let elements = standard
            .as_slice()
            .ok_or_else(|| Error::internal("a standard-layout array is not contiguous"))?;
        let bytes: &[u8] = bytemuck::cast_slice(elements);
        // Checksum and write chunk by chunk, so that each chunk is still in cache when it is copied out.
        let mut crc = 0;
        for chunk in bytes.chunks(CHUNK_BYTES) {
            crc = masked_crc::extend(crc, chunk);
            self.write_bytes(chunk)?;
        }
        Ok((bytes.len() as u64, crc))
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let path = &self.tmp_data_path;
        let data = self.data.as_mut().ok_or_else(|| Error::internal("bundle writer used after finish"))?;
        data.write_all(bytes).map_err(|e| Error::from(e).context(format_args!("writing {}", path.display())))
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        // Only an unfinished writer still holds its data file; a finished one has renamed it.
        if self.data.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp_data_path);
        }
    }
}

/// Whether a finished bundle must survive a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the data and index files before renaming them, and the directory after: once
    /// [`BundleWriter::finish`] returns, the checkpoint survives a power loss, and a crash never leaves an
    /// index whose data is incomplete.
    Fsync,
    /// Rename without fsync, as TensorFlow does: faster, but after a power loss (not a process crash) the
    /// renamed files may be empty or partial. For scratch checkpoints and for comparing with TF.
    OsBuffered,
}

/// TF's DT_STRING layout: varint lengths, the masked CRC of the lengths, then the bytes. The returned CRC
/// (the entry's) covers each length as a fixed-width integer, then the stored length checksum, then the
/// bytes: not the varint bytes that are on disk.
pub(crate) fn encode_strings(a: &ArcArray<Vec<u8>, IxDyn>) -> (Vec<u8>, u32) {
    let total: usize = a.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total + a.len() * 2 + 4);
    let mut crc = 0u32;
    for s in a.iter() {
        put_varint64(&mut out, s.len() as u64);
        crc = extend_with_length(crc, s.len() as u64);
    }
    let mut length_crc = Vec::with_capacity(4);
    put_fixed32(&mut length_crc, masked_crc::mask(crc));
    crc = masked_crc::extend(crc, &length_crc);
    out.extend_from_slice(&length_crc);
    for s in a.iter() {
        out.extend_from_slice(s);
        crc = masked_crc::extend(crc, s);
    }
    (out, crc)
}

/// Extends a CRC with a string length as TF checksums it: u32 LE, or u64 LE when it does not fit.
pub(crate) fn extend_with_length(crc: u32, len: u64) -> u32 {
    match u32::try_from(len) {
        Ok(small) => masked_crc::extend(crc, &small.to_le_bytes()),
        Err(_) => masked_crc::extend(crc, &len.to_le_bytes()),
    }
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v)
        .map_err(|_| Error::invalid_argument(format!("offset {v} does not fit a BundleEntryProto")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_annotated_example_byte_for_byte() -> Result<()> {
        // spec/formats.md 4.5: TF1 Saver's checkpoint of global_step = 21 and w = [[0,1,2],[3,4,5]].
        let dir = tempfile::tempdir()?;
        let prefix = dir.path().join("model.ckpt-21");
        let mut w = BundleWriter::new(&prefix)?;
        w.add("global_step", &Tensor::scalar(21i64))?;
        w.add("w", &Tensor::from_vec(&[2, 3], vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0])?)?;
        w.finish()?;
        let index = std::fs::read(index_filename(&prefix))?;
        let expected_head: &[u8] =
            &[0x00, 0x00, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01, 0x00, 0x0b, 0x0b, b'g', b'l', b'o', b'b'];
        assert_eq!(index.len(), 152);
        assert_eq!(&index[..16], expected_head);
        assert_eq!(&index[0x43..0x48], &[0x00, 0x02, 0x3b, 0x0e, 0xdb], "data block trailer");
        assert_eq!(&index[0x55..0x5a], &[0x00, 0x01, 0x02, b'x', 0x00], "index entry: successor of w");
        assert_eq!(&index[0x90..], &[0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
        let data = std::fs::read(data_filename(&prefix, 0, 1))?;
        assert_eq!(data.len(), 32);
        assert_eq!(&data[..8], &21i64.to_le_bytes());
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 2, "no temporary files remain");
        Ok(())
    }

    #[test]
    fn rejects_empty_and_duplicate_keys_and_cleans_up() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut w = BundleWriter::new(dir.path().join("p"))?;
        assert!(w.add("", &Tensor::scalar(1.0f32)).is_err());
        w.add("a", &Tensor::scalar(1.0f32))?;
        let dup = w.add("a", &Tensor::scalar(2.0f32)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(dup.contains("duplicate key a"), "{dup}");
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0, "an abandoned writer leaves nothing behind");
        Ok(())
    }

    #[test]
    fn string_checksum_covers_fixed_width_lengths() {
        let a = ArcArray::from_shape_vec(IxDyn(&[3]), vec![b"ab".to_vec(), Vec::new(), b"xyz".to_vec()])
            .map_err(|e| e.to_string());
        let Ok(a) = a else { return };
        let (bytes, crc) = encode_strings(&a);
        assert_eq!(&bytes[..3], &[2, 0, 3]);
        let lengths_crc = masked_crc::crc32c(&[2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&bytes[3..7], &masked_crc::mask(lengths_crc).to_le_bytes());
        assert_eq!(&bytes[7..], b"abxyz");
        let mut expected = masked_crc::extend(lengths_crc, &bytes[3..7]);
        expected = masked_crc::extend(expected, b"abxyz");
        assert_eq!(crc, expected);
    }
}
