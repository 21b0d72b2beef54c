//! Reads a LevelDB-style table such as a `.index` file (`table.cc`): footer, index block, data blocks,
//! every block's CRC checked.

use crate::block::block_entries;
use crate::coding::get_fixed32;
use crate::format::{
    BlockHandle, BLOCK_TRAILER_SIZE, FOOTER_SIZE, NO_COMPRESSION, SNAPPY_COMPRESSION, TABLE_MAGIC,
};
use crate::masked_crc;
use ferroflow_core::{Error, Result};
use std::borrow::Cow;

/// A table read whole into memory, entries in key order.
///
/// Every structural problem (bad magic, a handle outside the file, a block CRC mismatch, unsorted keys)
/// is `DataLoss`. Snappy-compressed blocks (written by TF 1.1-era savers) are decompressed.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{Table, TableBuilder, TableOptions};
/// # fn main() -> ferroflow_core::Result<()> {
/// let mut b = TableBuilder::new(TableOptions::default());
/// b.add(b"a", b"1")?;
/// let table = Table::from_bytes(&b.finish())?;
/// assert_eq!(table.len(), 1);
/// assert!(Table::from_bytes(b"not a table").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Table {
    /// Parses a whole table.
    ///
    /// # Errors
    /// `DataLoss` for a truncated or corrupt table, `Unimplemented` for compressed blocks.
    pub fn from_bytes(bytes: &[u8]) -> Result<Table> {
        if bytes.len() < FOOTER_SIZE {
            return Err(Error::data_loss(format!(
                "table of {} bytes is shorter than its {FOOTER_SIZE}-byte footer",
                bytes.len()
            )));
        }
        let footer = &bytes[bytes.len() - FOOTER_SIZE..];
        let lo = get_fixed32(footer, 40).unwrap_or(0);
        let hi = get_fixed32(footer, 44).unwrap_or(0);
        if (u64::from(hi) << 32 | u64::from(lo)) != TABLE_MAGIC {
            return Err(Error::data_loss("not a table: bad magic number in the footer"));
        }
        let mut pos = 0;
        let handles = &footer[..40];
        let _metaindex = BlockHandle::decode(handles, &mut pos)
            .ok_or_else(|| Error::data_loss("corrupt metaindex handle in the footer"))?;
        let index_handle = BlockHandle::decode(handles, &mut pos)
            .ok_or_else(|| Error::data_loss("corrupt index handle in the footer"))?;
        let body = &bytes[..bytes.len() - FOOTER_SIZE];
        let index = read_block(body, index_handle)?;
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (separator, encoded) in
            block_entries(&index).map_err(|e| Error::data_loss(format!("index block: {e}")))?
        {
            let mut p = 0;
            let handle = BlockHandle::decode(encoded, &mut p).ok_or_else(|| {
                Error::data_loss(format!(
                    "corrupt block handle under index key {:?}",
                    String::from_utf8_lossy(&separator)
                ))
            })?;
            let block = read_block(body, handle)?;
            for (key, value) in block_entries(&block)
                .map_err(|e| Error::data_loss(format!("data block at offset {}: {e}", handle.offset)))?
            {
                if let Some((last, _)) = entries.last() {
                    if key.as_slice() <= last.as_slice() {
                        return Err(Error::data_loss(format!(
                            "table keys out of order: {:?} after {:?}",
                            String::from_utf8_lossy(&key),
                            String::from_utf8_lossy(last)
                        )));
                    }
                }
                if key > separator {
                    return Err(Error::data_loss(format!(
                        "key {:?} lies past its index separator {:?}",
                        String::from_utf8_lossy(&key),
                        String::from_utf8_lossy(&separator)
                    )));
                }
                entries.push((key, value.to_vec()));
            }
        }
        Ok(Table { entries })
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|(_, v)| v.as_slice())
    }

    /// All entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The contents of one block, its trailer checked, decompressed if needed.
fn read_block(body: &[u8], handle: BlockHandle) -> Result<Cow<'_, [u8]>> {
    let out_of_bounds = || {
        Error::data_loss(format!(
            "block at offset {} of {} bytes lies outside the {}-byte table",
            handle.offset,
            handle.size,
            body.len() + FOOTER_SIZE
        ))
    };
    let start = usize::try_from(handle.offset).map_err(|_| out_of_bounds())?;
    let size = usize::try_from(handle.size).map_err(|_| out_of_bounds())?;
    let end = start.checked_add(size).ok_or_else(out_of_bounds)?;
    let trailer_end =
        end.checked_add(BLOCK_TRAILER_SIZE).filter(|&e| e <= body.len()).ok_or_else(out_of_bounds)?;
    let contents = &body[start..end];
    let trailer = &body[end..trailer_end];
    let stored = get_fixed32(trailer, 1).unwrap_or(0);
    let actual = masked_crc::extend(masked_crc::crc32c(contents), &trailer[..1]);
    if masked_crc::unmask(stored) != actual {
        return Err(Error::data_loss(format!("checksum mismatch in the table block at offset {start}")));
    }
    match trailer[0] {
        NO_COMPRESSION => Ok(Cow::Borrowed(contents)),
        // Only TF 1.1-era writers compressed index blocks; reading them keeps those checkpoints usable.
        SNAPPY_COMPRESSION => {
            let len = snap::raw::decompress_len(contents)
                .map_err(|e| Error::data_loss(format!("corrupt Snappy block at offset {start}: {e}")))?;
            // Snappy expands a byte to at most a few dozen; a block claiming more is corrupt, and the bound
            // keeps a forged length from allocating without limit.
            if len > contents.len().saturating_mul(64).max(1 << 16) {
                return Err(Error::data_loss(format!(
                    "Snappy block at offset {start} claims {len} bytes from {} compressed bytes",
                    contents.len()
                )));
            }
            snap::raw::Decoder::new()
                .decompress_vec(contents)
                .map(Cow::Owned)
                .map_err(|e| Error::data_loss(format!("corrupt Snappy block at offset {start}: {e}")))
        }
        other => {
            Err(Error::data_loss(format!("unknown compression type {other} of the block at offset {start}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table_builder::{TableBuilder, TableOptions};
    use ferroflow_core::Code;

    fn table(n: usize, block_size: usize) -> Result<Vec<u8>> {
        let mut b = TableBuilder::new(TableOptions { block_size, ..Default::default() });
        for i in 0..n {
            b.add(format!("key/{i:06}").as_bytes(), format!("value {i}").as_bytes())?;
        }
        Ok(b.finish())
    }

    #[test]
    fn multi_block_round_trip() -> Result<()> {
        let bytes = table(2000, 1024)?;
        let t = Table::from_bytes(&bytes)?;
        assert_eq!(t.len(), 2000);
        assert_eq!(t.get(b"key/001234"), Some(&b"value 1234"[..]));
        assert_eq!(t.get(b"key/1"), None);
        Ok(())
    }

    #[test]
    fn reads_snappy_compressed_blocks() -> Result<()> {
        use crate::block_builder::BlockBuilder;
        use crate::coding::put_fixed32;
        use crate::format::encode_footer;
        // A table as an old TF writer laid it out: one Snappy data block, an empty metaindex, an index.
        let write = |out: &mut Vec<u8>, raw: Vec<u8>, kind: u8| -> Result<BlockHandle> {
            let stored = if kind == SNAPPY_COMPRESSION {
                snap::raw::Encoder::new().compress_vec(&raw).map_err(|e| Error::internal(e.to_string()))?
            } else {
                raw
            };
            let handle = BlockHandle { offset: out.len() as u64, size: stored.len() as u64 };
            out.extend_from_slice(&stored);
            out.push(kind);
            let crc = masked_crc::extend(masked_crc::crc32c(&stored), &[kind]);
            put_fixed32(out, masked_crc::mask(crc));
            Ok(handle)
        };
        let mut out = Vec::new();
        let mut data = BlockBuilder::new(16);
        for i in 0..100 {
            data.add(format!("key/{i:03}").as_bytes(), &[b'v'; 40]);
        }
        let data_handle = write(&mut out, data.finish(), SNAPPY_COMPRESSION)?;
        let meta_handle = write(&mut out, BlockBuilder::new(16).finish(), NO_COMPRESSION)?;
        let mut index = BlockBuilder::new(1);
        let mut handle_bytes = Vec::new();
        data_handle.encode_to(&mut handle_bytes);
        index.add(b"key/100", &handle_bytes);
        let index_handle = write(&mut out, index.finish(), NO_COMPRESSION)?;
        out.extend_from_slice(&encode_footer(meta_handle, index_handle));
        assert!(data_handle.size < 1000, "the block is really compressed");
        let t = Table::from_bytes(&out)?;
        assert_eq!(t.len(), 100);
        assert_eq!(t.get(b"key/042"), Some(&[b'v'; 40][..]));
        Ok(())
    }

    #[test]
    fn every_bit_flip_and_truncation_is_data_loss() -> Result<()> {
        let bytes = table(30, 128)?;
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            match Table::from_bytes(&bad) {
                Err(e) => assert_eq!(e.code(), Code::DataLoss, "flip at {i}: {e}"),
                // A flip in the footer's zero padding, or in a varint continuation that still decodes to
                // the same handle, is harmless; the entries must then be intact.
                Ok(t) => assert_eq!(t.len(), 30, "flip at {i} changed the table silently"),
            }
        }
        for len in 0..bytes.len() {
            let e = Table::from_bytes(&bytes[..len]).err().map(|e| e.code());
            assert_eq!(e, Some(Code::DataLoss), "truncated to {len}");
        }
        Ok(())
    }
}
