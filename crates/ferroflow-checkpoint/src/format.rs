//! The fixed pieces of LevelDB's table format that TensorFlow's `.index` files use (`format.{h,cc}`):
//! block handles, block trailers and the 48-byte footer.

use crate::coding::{get_varint64, put_fixed32, put_varint64};
use crate::masked_crc;

/// Bytes after each block: a compression-type byte and the masked CRC32C of block and type byte.
pub(crate) const BLOCK_TRAILER_SIZE: usize = 5;
/// Footer length: two handles padded to 40 bytes, then the magic.
pub(crate) const FOOTER_SIZE: usize = 48;
/// `kTableMagicNumber`, stored as two little-endian u32, low word first.
pub(crate) const TABLE_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// Compression type byte of an uncompressed block.
pub(crate) const NO_COMPRESSION: u8 = 0;
/// Compression type byte of a Snappy block (only very old TF writers produced these).
pub(crate) const SNAPPY_COMPRESSION: u8 = 1;

/// Where a block lies in the file; the size excludes the trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

impl BlockHandle {
    pub(crate) fn encode_to(&self, out: &mut Vec<u8>) {
        put_varint64(out, self.offset);
        put_varint64(out, self.size);
    }

    pub(crate) fn decode(buf: &[u8], pos: &mut usize) -> Option<BlockHandle> {
        let offset = get_varint64(buf, pos)?;
        let size = get_varint64(buf, pos)?;
        Some(BlockHandle { offset, size })
    }
}

/// Appends a block trailer for `contents` (uncompressed).
pub(crate) fn put_block_trailer(out: &mut Vec<u8>, contents: &[u8]) {
    let crc = masked_crc::extend(masked_crc::crc32c(contents), &[NO_COMPRESSION]);
    out.push(NO_COMPRESSION);
    put_fixed32(out, masked_crc::mask(crc));
}

/// Encodes the footer.
pub(crate) fn encode_footer(metaindex: BlockHandle, index: BlockHandle) -> Vec<u8> {
    let mut out = Vec::with_capacity(FOOTER_SIZE);
    metaindex.encode_to(&mut out);
    index.encode_to(&mut out);
    out.resize(FOOTER_SIZE - 8, 0);
    put_fixed32(&mut out, TABLE_MAGIC as u32);
    put_fixed32(&mut out, (TABLE_MAGIC >> 32) as u32);
    out
}
