//! Reads a V2 tensor bundle (`tensor_bundle.cc` `BundleReader`), checking every checksum.

use crate::bundle_writer::{extend_with_length, CHUNK_BYTES, TENSOR_BUNDLE_VERSION};
use crate::coding::{get_fixed32, get_varint64};
use crate::masked_crc;
use crate::naming::{data_filename, index_filename};
use crate::table_reader::Table;
use ferroflow_core::{DType, Error, Result, Shape, Tensor};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{BundleEntryProto, BundleHeaderProto, Endianness};
use std::fs::File;
use std::path::{Path, PathBuf};

/// More shards than this is a corrupt header, not a real checkpoint; it bounds the files opened.
const MAX_SHARDS: i32 = 1 << 16;

/// A checkpoint opened for reading: its index in memory, its data files open.
///
/// Mirrors `tensorflow::BundleReader` (and `tf.train.load_checkpoint`). Differences: the whole index is
/// parsed and checked on open, and tensors come back as [`Tensor`].
///
/// # Errors
///
/// Opening: `NotFound` naming the missing `.index` or data file; `DataLoss` for a truncated or corrupt
/// index; `Unimplemented` for big-endian or Snappy-compressed bundles. Reading: `NotFound` naming a missing
/// key; `DataLoss` naming the tensor for a checksum mismatch or a truncated data file.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{BundleReader, BundleWriter};
/// use ferroflow_core::{Code, DType, Shape, Tensor};
/// # fn main() -> ferroflow_core::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// # let prefix = dir.path().join("ckpt");
/// # let mut w = BundleWriter::new(&prefix)?;
/// # w.add("b", &Tensor::vector(vec![0.5f64, 1.5]))?;
/// # w.finish()?;
/// let reader = BundleReader::open(&prefix)?;
/// assert_eq!(reader.list()?, vec![("b".to_string(), DType::F64, Shape::new([2]))]);
/// assert_eq!(reader.read("b")?.to_vec::<f64>()?, vec![0.5, 1.5]);
/// assert_eq!(reader.read("nope").unwrap_err().code(), Code::NotFound);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BundleReader {
    prefix: PathBuf,
    header: BundleHeaderProto,
    entries: Vec<(String, BundleEntryProto)>,
    shards: Vec<Shard>,
    read_threads: usize,
}

/// Below this many bytes a parallel read is not worth starting threads.
const PARALLEL_READ_BYTES: u64 = 32 << 20;

fn default_read_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

#[derive(Debug)]
enum Shard {
    File { path: PathBuf, file: File, len: u64 },
    Memory(Vec<u8>),
}

impl BundleReader {
    /// Opens the checkpoint at `prefix` (the path without `.index`).
    ///
    /// # Errors
    /// `NotFound` naming the missing file, `DataLoss` for a corrupt index, `InvalidArgument` for an
    /// incompatible version, `Unimplemented` for a big-endian bundle.
    pub fn open(prefix: impl AsRef<Path>) -> Result<BundleReader> {
        let prefix = prefix.as_ref().to_path_buf();
        let index_path = index_filename(&prefix);
        let index = std::fs::read(&index_path).map_err(|e| {
            Error::from(e).context(format_args!("reading checkpoint index {}", index_path.display()))
        })?;
        let (header, entries) = parse_index(&index)
            .map_err(|e| e.context(format_args!("checkpoint index {}", index_path.display())))?;
        let num_shards = header.num_shards as usize;
        let mut shards = Vec::with_capacity(num_shards);
        for shard in 0..num_shards {
            let path = data_filename(&prefix, shard, num_shards);
            let file = File::open(&path).map_err(|e| {
                Error::from(e).context(format_args!("opening checkpoint data {}", path.display()))
            })?;
            let len = file
                .metadata()
                .map_err(|e| {
                    Error::from(e).context(format_args!("reading checkpoint data {}", path.display()))
                })?
                .len();
            shards.push(Shard::File { path, file, len });
        }
        Ok(BundleReader { prefix, header, entries, shards, read_threads: default_read_threads() })
    }

    /// A bundle held in memory: the `.index` bytes and the bytes of its single data file. Used to check
    /// bundles received over the network, and by the fuzz target.
    ///
    /// # Errors
    /// As [`open`](Self::open); `Unimplemented` if the header declares more than one shard.
    pub fn from_bytes(index: &[u8], data: Vec<u8>) -> Result<BundleReader> {
        let (header, entries) = parse_index(index).map_err(|e| e.context("checkpoint index"))?;
        if header.num_shards != 1 {
            return Err(Error::unimplemented(format!(
                "an in-memory bundle has one data file, the header declares {}",
                header.num_shards
            )));
        }
        Ok(BundleReader {
            prefix: PathBuf::from("<memory>"),
            header,
            entries,
            shards: vec![Shard::Memory(data)],
            read_threads: default_read_threads(),
        })
    }

    /// The checkpoint prefix.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The header stored under the empty key.
    pub fn header(&self) -> &BundleHeaderProto {
        &self.header
    }

    /// Whether the checkpoint holds a tensor under `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// The raw index entry of `key`.
    pub fn entry(&self, key: &str) -> Option<&BundleEntryProto> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|(_, e)| e)
    }

    /// The tensor names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Every tensor's name, dtype and shape, sorted by name (`tf.train.list_variables`).
    ///
    /// # Errors
    /// `Unimplemented` naming a tensor whose dtype ferroflow does not support; `DataLoss` naming a tensor
    /// whose stored shape is not a valid shape.
    pub fn list(&self) -> Result<Vec<(String, DType, Shape)>> {
        self.entries
            .iter()
            .map(|(name, e)| Ok((name.clone(), self.dtype_of(name, e)?, self.shape_of(name, e)?)))
            .collect()
    }

    /// Reads the tensor stored under `key` and checks its checksum.
    ///
    /// # Errors
    /// `NotFound` naming the key; `DataLoss` naming the tensor for a checksum mismatch, a size that does not
    /// match the shape or a truncated data file; `Unimplemented` for an unsupported dtype or a partitioned
    /// variable's slices.
    pub fn read(&self, key: &str) -> Result<Tensor> {
        let entry = self.entry(key).ok_or_else(|| {
            Error::not_found(format!("key {key} not found in checkpoint {}", self.prefix.display()))
        })?;
        if !entry.slices.is_empty() {
            return Err(Error::unimplemented(format!(
                "tensor {key} in {} is a partitioned variable ({} slices), which ferroflow does not read",
                self.prefix.display(),
                entry.slices.len()
            )));
        }
        let dtype = self.dtype_of(key, entry)?;
        let shape = self.shape_of(key, entry)?;
        let dims = shape.dims();
        let n = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        let size = usize::try_from(entry.size).ok();
        let (Some(n), Some(size)) = (n, size) else {
            return Err(self.corrupt(key, format!("shape {shape} with size {} overflows", entry.size)));
        };
        let (shard, offset) = self.locate(key, entry, size)?;
        if let Some(elem) = dtype.size_of() {
            if n.checked_mul(elem) != Some(size) {
                return Err(
                    self.corrupt(key, format!("{size} bytes do not hold a {dtype} tensor of shape {shape}"))
                );
            }
        }
        match dtype {
            DType::F32 => self.read_pod::<f32>(key, entry, shard, offset, dims, n),
            DType::F64 => self.read_pod::<f64>(key, entry, shard, offset, dims, n),
            DType::I32 => self.read_pod::<i32>(key, entry, shard, offset, dims, n),
            DType::I64 => self.read_pod::<i64>(key, entry, shard, offset, dims, n),
            DType::U8 => self.read_pod::<u8>(key, entry, shard, offset, dims, n),
            DType::Bool => {
                let mut bytes = vec![0u8; n];
                self.read_at(key, shard, offset, &mut bytes)?;
                self.check_crc(key, entry, masked_crc::crc32c(&bytes))?;
                Tensor::from_vec(dims, bytes.into_iter().map(|b| b != 0).collect())
            }
            DType::String => {
                // Each element takes at least one length byte, so a huge shape cannot fit a small entry.
                if n > size {
                    return Err(self.corrupt(key, format!("{size} bytes cannot hold {n} strings")));
                }
                let mut bytes = vec![0u8; size];
                self.read_at(key, shard, offset, &mut bytes)?;
                let (strings, crc) = decode_strings(&bytes, n).map_err(|m| self.corrupt(key, m))?;
                self.check_crc(key, entry, crc)?;
                Tensor::from_vec(dims, strings)
            }
        }
    }

    /// Reads the tensor under `key` into `tensor`'s own memory when its dtype and shape match and it is
    /// contiguous (a copy-on-write clone is made first if the memory is shared); otherwise replaces it with
    /// [`read`](Self::read)'s result. Restoring into existing variables this way allocates nothing, so a
    /// large model is restored without page faults or zero-filling.
    ///
    /// # Errors
    /// As [`read`](Self::read). After an error `tensor` holds unspecified values of its dtype and shape.
    pub fn read_into(&self, key: &str, tensor: &mut Tensor) -> Result<()> {
        let entry = self.entry(key).ok_or_else(|| {
            Error::not_found(format!("key {key} not found in checkpoint {}", self.prefix.display()))
        })?;
        let reusable = entry.slices.is_empty()
            && entry.dtype == tensor.dtype().to_proto()
            && self.shape_of(key, entry).is_ok_and(|s| s.dims() == tensor.shape())
            && tensor.dtype() != DType::String
            && tensor.dtype().size_of().map(|n| (n * tensor.num_elements()) as i64) == Some(entry.size);
        if !reusable {
            *tensor = self.read(key)?;
            return Ok(());
        }
        let contiguous = match &*tensor {
            // bool has invalid bit patterns, so its memory cannot be filled as bytes.
            Tensor::Bool(_) | Tensor::String(_) => false,
            other => ferroflow_core::match_tensor!(other, a => a.is_standard_layout()),
        };
        if !contiguous {
            *tensor = self.read(key)?;
            return Ok(());
        }
        let (shard, offset) = self.locate(key, entry, tensor.byte_size())?;
        let bytes: &mut [u8] = match tensor {
            Tensor::F32(a) => a.as_slice_mut().map(bytemuck::cast_slice_mut),
            Tensor::F64(a) => a.as_slice_mut().map(bytemuck::cast_slice_mut),
            Tensor::I32(a) => a.as_slice_mut().map(bytemuck::cast_slice_mut),
            Tensor::I64(a) => a.as_slice_mut().map(bytemuck::cast_slice_mut),
            Tensor::U8(a) => a.as_slice_mut(),
            Tensor::Bool(_) | Tensor::String(_) => None,
        }
        .ok_or_else(|| Error::internal("a standard-layout array has no contiguous slice"))?;
        let crc = self.read_chunked(key, shard, offset, bytes)?;
        self.check_crc(key, entry, crc)
    }

    /// Reads every tensor, in name order; partitioned variables' slices are skipped.
    ///
    /// # Errors
    /// As [`read`](Self::read), for the first tensor that fails.
    pub fn read_all(&self) -> Result<Vec<(String, Tensor)>> {
        let keys: Vec<&str> =
            self.entries.iter().filter(|(_, e)| e.slices.is_empty()).map(|(k, _)| k.as_str()).collect();
        let tensors = self.read_many(&keys)?;
        Ok(keys.into_iter().map(str::to_string).zip(tensors).collect())
    }

    /// Reads the tensors under `keys`, in that order, on up to [`read_threads`](Self::set_read_threads)
    /// threads when they are large (as TF's `RestoreV2` restores large checkpoints in parallel).
    ///
    /// # Errors
    /// As [`read`](Self::read), for the first failing key in `keys` order.
    pub fn read_many(&self, keys: &[&str]) -> Result<Vec<Tensor>> {
        let total: u64 = keys.iter().filter_map(|k| self.entry(k)).map(|e| e.size.max(0) as u64).sum();
        let threads = self.read_threads.min(keys.len());
        if threads <= 1 || total < PARALLEL_READ_BYTES {
            return keys.iter().map(|k| self.read(k)).collect();
        }
        // Workers take the next key from a shared counter, so one huge tensor does not hold up the rest.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut results: Vec<Option<Result<Tensor>>> = Vec::new();
        results.resize_with(keys.len(), || None);
        let per_worker: Vec<Vec<(usize, Result<Tensor>)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(key) = keys.get(i) else { break };
                            let r = self.read(key);
                            let failed = r.is_err();
                            done.push((i, r));
                            if failed {
                                break;
                            }
                        }
                        done
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
        });
        for (i, r) in per_worker.into_iter().flatten() {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Some(r) => out.push(r?),
                // A worker stopped at an earlier error, so this key was never read: report that error by
                // reading the key here (cheap, the checkpoint is already known to be bad).
                None => out.push(self.read(keys.get(i).copied().unwrap_or_default())?),
            }
        }
        Ok(out)
    }

    /// [`read_into`](Self::read_into) for many tensors, on up to [`read_threads`](Self::set_read_threads)
    /// threads when they are large: what a saver calls to restore existing variables.
    ///
    /// # Errors
    /// As [`read_into`](Self::read_into); the first error in `targets` order among those read.
    pub fn read_many_into(&self, targets: &mut [(&str, &mut Tensor)]) -> Result<()> {
        let total: u64 =
            targets.iter().filter_map(|(k, _)| self.entry(k)).map(|e| e.size.max(0) as u64).sum();
        let threads = self.read_threads.min(targets.len());
        if threads <= 1 || total < PARALLEL_READ_BYTES {
            return targets.iter_mut().try_for_each(|(k, t)| self.read_into(k, t));
        }
        let queue = std::sync::Mutex::new(targets.iter_mut().enumerate());
        let mut errors: Vec<(usize, Error)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| loop {
                        let next = match queue.lock() {
                            Ok(mut q) => q.next(),
                            Err(_) => None,
                        };
                        let (i, (key, tensor)) = next?;
                        if let Err(e) = self.read_into(key, tensor) {
                            return Some((i, e));
                        }
                    })
                })
                .collect();
            workers.into_iter().filter_map(|w| w.join().ok().flatten()).collect()
        });
        errors.sort_by_key(|(i, _)| *i);
        match errors.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// How many threads [`read_many`](Self::read_many) and [`read_all`](Self::read_all) may use.
    ///
    /// By default, the number of CPUs, at most 8.
    pub fn set_read_threads(&mut self, threads: usize) {
        self.read_threads = threads.max(1);
    }

    fn read_pod<T: bytemuck::Pod + ferroflow_core::TensorElement>(
        &self,
        key: &str,
        entry: &BundleEntryProto,
        shard: usize,
        offset: u64,
        dims: &[usize],
        n: usize,
    ) -> Result<Tensor> {
        // calloc'd memory: the OS hands out zero pages lazily, so a large tensor is not written twice.
        let mut values: Vec<T> = bytemuck::allocation::zeroed_vec(n);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut values);
        let crc = self.read_chunked(key, shard, offset, bytes)?;
        self.check_crc(key, entry, crc)?;
        Tensor::from_vec(dims, values)
    }

    /// Fills `bytes` from the data file and returns their CRC32C, chunk by chunk so that each chunk is
    /// checksummed while it is still in cache.
    fn read_chunked(&self, key: &str, shard: usize, offset: u64, bytes: &mut [u8]) -> Result<u32> {
        let mut crc = 0;
        for (i, chunk) in bytes.chunks_mut(CHUNK_BYTES).enumerate() {
            self.read_at(key, shard, offset + (i * CHUNK_BYTES) as u64, chunk)?;
            crc = masked_crc::extend(crc, chunk);
        }
        Ok(crc)
    }

    fn dtype_of(&self, key: &str, entry: &BundleEntryProto) -> Result<DType> {
        DType::from_proto(entry.dtype).map_err(|_| {
            Error::unimplemented(format!(
                "tensor {key} in {} has DataType {}, which ferroflow does not support",
                self.prefix.display(),
                entry.dtype
            ))
        })
    }

    fn shape_of(&self, key: &str, entry: &BundleEntryProto) -> Result<Shape> {
        match &entry.shape {
            None => Ok(Shape::scalar()),
            Some(s) => {
                s.to_shape().ok_or_else(|| self.corrupt(key, "the stored shape is unknown or negative"))
            }
        }
    }

    /// The shard index and byte offset of an entry, checked to lie inside its data file.
    fn locate(&self, key: &str, entry: &BundleEntryProto, size: usize) -> Result<(usize, u64)> {
        let shard = usize::try_from(entry.shard_id)
            .ok()
            .filter(|&s| s < self.shards.len())
            .ok_or_else(|| self.corrupt(key, format!("shard {} does not exist", entry.shard_id)))?;
        let offset = u64::try_from(entry.offset)
            .map_err(|_| self.corrupt(key, format!("negative offset {}", entry.offset)))?;
        let (len, path) = match &self.shards[shard] {
            Shard::File { path, len, .. } => (*len, path.display().to_string()),
            Shard::Memory(bytes) => (bytes.len() as u64, "the in-memory data".to_string()),
        };
        let end = offset.checked_add(size as u64);
        if !matches!(end, Some(end) if end <= len) {
            return Err(Error::data_loss(format!(
                "tensor {key}: {path} is truncated: bytes {offset}..{} lie past its end at {len}",
                end.map_or_else(|| "overflow".to_string(), |e| e.to_string())
            )));
        }
        Ok((shard, offset))
    }

    fn read_at(&self, key: &str, shard: usize, offset: u64, buf: &mut [u8]) -> Result<()> {
        match self.shards.get(shard) {
            Some(Shard::File { path, file, .. }) => read_exact_at(file, buf, offset).map_err(|e| {
                Error::from(e).context(format_args!("reading tensor {key} from {}", path.display()))
            }),
            Some(Shard::Memory(bytes)) => {
                let start = usize::try_from(offset).map_err(|_| self.corrupt(key, "offset overflows"))?;
                let src = start
                    .checked_add(buf.len())
                    .and_then(|end| bytes.get(start..end))
                    .ok_or_else(|| self.corrupt(key, "bytes lie past the end of the data"))?;
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(Error::internal(format!("shard {shard} was located but is missing"))),
        }
    }

    fn check_crc(&self, key: &str, entry: &BundleEntryProto, actual: u32) -> Result<()> {
        let stored = masked_crc::unmask(entry.crc32c);
        if stored != actual {
            return Err(Error::data_loss(format!(
                "checksum mismatch for tensor {key} in {}: stored {stored:#010x}, computed {actual:#010x}",
                self.data_description(entry)
            )));
        }
        Ok(())
    }

    fn data_description(&self, entry: &BundleEntryProto) -> String {
        match usize::try_from(entry.shard_id).ok().and_then(|s| self.shards.get(s)) {
            Some(Shard::File { path, .. }) => path.display().to_string(),
            _ => format!("the data of {}", self.prefix.display()),
        }
    }

    fn corrupt(&self, key: &str, message: impl std::fmt::Display) -> Error {
        Error::data_loss(format!("tensor {key} in checkpoint {}: {message}", self.prefix.display()))
    }
}

/// The header and the entries of an index table, all checked.
fn parse_index(index: &[u8]) -> Result<(BundleHeaderProto, Vec<(String, BundleEntryProto)>)> {
    let table = Table::from_bytes(index)?;
    let mut items = table.iter();
    let header_bytes = match items.next() {
        Some(([], v)) => v,
        _ => return Err(Error::data_loss("the first entry is not the bundle header (the empty key)")),
    };
    let header = BundleHeaderProto::decode(header_bytes)
        .map_err(|e| Error::data_loss(format!("corrupt bundle header: {e}")))?;
    check_header(&header)?;
    let mut entries = Vec::with_capacity(table.len().saturating_sub(1));
    for (key, value) in items {
        let name = String::from_utf8(key.to_vec()).map_err(|_| {
            Error::data_loss(format!("tensor name {:?} is not UTF-8", String::from_utf8_lossy(key)))
        })?;
        let entry = BundleEntryProto::decode(value)
            .map_err(|e| Error::data_loss(format!("corrupt entry for tensor {name}: {e}")))?;
        entries.push((name, entry));
    }
    Ok((header, entries))
}

fn check_header(header: &BundleHeaderProto) -> Result<()> {
    if header.num_shards < 1 || header.num_shards > MAX_SHARDS {
        return Err(Error::data_loss(format!("the header declares {} data files", header.num_shards)));
    }
    if header.endianness != Endianness::Little as i32 {
        return Err(Error::unimplemented(
            "the bundle is big-endian; ferroflow reads little-endian bundles only",
        ));
    }
    let version = header.version.clone().unwrap_or_default();
    if version.min_consumer > TENSOR_BUNDLE_VERSION || version.bad_consumers.contains(&TENSOR_BUNDLE_VERSION)
    {
        return Err(Error::invalid_argument(format!(
            "the checkpoint needs a reader of version {} or later (producer {}); ferroflow reads version \
             {TENSOR_BUNDLE_VERSION}",
            version.min_consumer, version.producer
        )));
    }
    Ok(())
}

/// Decodes `n` strings in TF's layout; returns them and the CRC the entry must match.
fn decode_strings(bytes: &[u8], n: usize) -> std::result::Result<(Vec<Vec<u8>>, u32), String> {
    let mut pos = 0;
    let mut lengths = Vec::with_capacity(n);
    let mut crc = 0u32;
    for i in 0..n {
        let len = get_varint64(bytes, &mut pos).ok_or_else(|| format!("corrupt length of string {i}"))?;
        crc = extend_with_length(crc, len);
        lengths.push(len);
    }
    let stored = get_fixed32(bytes, pos).ok_or("the string lengths' checksum is missing")?;
    if masked_crc::unmask(stored) != crc {
        return Err("checksum mismatch in the string lengths".to_string());
    }
    crc = masked_crc::extend(crc, &bytes[pos..pos + 4]);
    pos += 4;
    let mut strings = Vec::with_capacity(n);
    for (i, &len) in lengths.iter().enumerate() {
        let s = usize::try_from(len)
            .ok()
            .and_then(|len| bytes.get(pos..pos.checked_add(len)?))
            .ok_or_else(|| format!("string {i} of {len} bytes runs past the entry"))?;
        crc = masked_crc::extend(crc, s);
        strings.push(s.to_vec());
        pos += s.len();
    }
    if pos != bytes.len() {
        return Err(format!("{} bytes after the last string", bytes.len() - pos));
    }
    Ok((strings, crc))
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
