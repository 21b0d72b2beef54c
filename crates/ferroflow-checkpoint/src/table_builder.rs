//! Writes the LevelDB-style table of a `.index` file exactly as TensorFlow's `tsl::table::TableBuilder`
//! does, so that our files are byte-identical to TF's for the same entries.

use crate::block_builder::BlockBuilder;
use crate::format::{encode_footer, put_block_trailer, BlockHandle};
use ferroflow_core::{Error, Result};

/// Block layout options of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// A data block is closed once its size estimate reaches this many bytes.
    ///
    /// By default, 262144, TensorFlow's value (LevelDB's is 4096).
    pub block_size: usize,
    /// Every this many entries a key is stored whole (a restart point) instead of prefix-compressed.
    ///
    /// By default, 16.
    pub block_restart_interval: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { block_size: 262_144, block_restart_interval: 16 }
    }
}

/// Builds an immutable sorted table in memory: data blocks, an empty metaindex block, the index block
/// and the footer with the table magic.
///
/// Mirrors `tsl::table::TableBuilder` with compression off, as `BundleWriter` uses it.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{Table, TableBuilder, TableOptions};
/// # fn main() -> ferroflow_core::Result<()> {
/// let mut b = TableBuilder::new(TableOptions::default());
/// b.add(b"", b"header")?;
/// b.add(b"w", b"entry")?;
/// let bytes = b.finish();
/// let table = Table::from_bytes(&bytes)?;
/// assert_eq!(table.get(b"w"), Some(&b"entry"[..]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TableBuilder {
    options: TableOptions,
    out: Vec<u8>,
    data_block: BlockBuilder,
    index_block: BlockBuilder,
    pending_handle: Option<BlockHandle>,
    last_key: Vec<u8>,
    num_entries: usize,
}

impl TableBuilder {
    /// An empty table with these options.
    pub fn new(options: TableOptions) -> Self {
        TableBuilder {
            options,
            out: Vec::new(),
            data_block: BlockBuilder::new(options.block_restart_interval),
            index_block: BlockBuilder::new(1),
            pending_handle: None,
            last_key: Vec::new(),
            num_entries: 0,
        }
    }

    /// Appends an entry. Keys must be added in strictly increasing byte order.
    ///
    /// # Errors
    /// `InvalidArgument` when `key` is not greater than the previous key.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.num_entries > 0 && key <= self.last_key.as_slice() {
            return Err(Error::invalid_argument(format!(
                "table keys must be strictly increasing: {:?} after {:?}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&self.last_key)
            )));
        }
        // TF's builder closes the current block before an entry that alone would fill two blocks.
        if self.num_entries > 0
            && key.len() + value.len() >= 2 * self.options.block_size
            && !self.data_block.is_empty()
        {
            self.flush();
        }
        if let Some(handle) = self.pending_handle.take() {
            let separator = shortest_separator(&self.last_key, key);
            let mut encoded = Vec::new();
            handle.encode_to(&mut encoded);
            self.index_block.add(&separator, &encoded);
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.num_entries += 1;
        self.data_block.add(key, value);
        if self.data_block.size_estimate() >= self.options.block_size {
            self.flush();
        }
        Ok(())
    }

    /// The number of entries added so far.
    pub fn num_entries(&self) -> usize {
        self.num_entries
    }

    /// Writes the remaining blocks and the footer and returns the table's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.data_block.is_empty() {
            self.flush();
        }
        let metaindex =
            write_block(&mut self.out, &mut BlockBuilder::new(self.options.block_restart_interval));
        if let Some(handle) = self.pending_handle.take() {
            let successor = short_successor(&self.last_key);
            let mut encoded = Vec::new();
            handle.encode_to(&mut encoded);
            self.index_block.add(&successor, &encoded);
        }
        let index = write_block(&mut self.out, &mut self.index_block);
        self.out.extend_from_slice(&encode_footer(metaindex, index));
        self.out
    }

    fn flush(&mut self) {
        self.pending_handle = Some(write_block(&mut self.out, &mut self.data_block));
    }
}

fn write_block(out: &mut Vec<u8>, block: &mut BlockBuilder) -> BlockHandle {
    let contents = block.finish();
    let handle = BlockHandle { offset: out.len() as u64, size: contents.len() as u64 };
    out.extend_from_slice(&contents);
    put_block_trailer(out, &contents);
    handle
}

/// A short key in `[start, limit)`, LevelDB's `BytewiseComparator::FindShortestSeparator`.
fn shortest_separator(start: &[u8], limit: &[u8]) -> Vec<u8> {
    let n = start.len().min(limit.len());
    let i = start.iter().zip(limit).take_while(|(a, b)| a == b).count();
    if i < n {
        let byte = start[i];
        if byte < 0xff && byte + 1 < limit[i] {
            let mut sep = start[..=i].to_vec();
            sep[i] = byte + 1;
            return sep;
        }
    }
    start.to_vec()
}

/// A short key `>= key`, LevelDB's `BytewiseComparator::FindShortSuccessor`.
fn short_successor(key: &[u8]) -> Vec<u8> {
    match key.iter().position(|&b| b != 0xff) {
        Some(i) => {
            let mut succ = key[..=i].to_vec();
            succ[i] += 1;
            succ
        }
        None => key.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_follow_leveldb() {
        type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a str);
        let cases: &[Case<'_>] = &[
            (b"abc", b"abe", b"abd", "room between c and e"),
            (b"abc", b"abd", b"abc", "adjacent bytes: keep start"),
            (b"ab", b"abc", b"ab", "start is a prefix of limit"),
            (b"a\xff", b"b", b"a\xff", "a + 1 is not below b: no room at the first differing byte"),
            (b"layer_1", b"layer_9", b"layer_2", "digit gap"),
        ];
        for (a, b, want, why) in cases {
            assert_eq!(shortest_separator(a, b), want.to_vec(), "{why}");
        }
        assert_eq!(short_successor(b"w"), b"x".to_vec());
        assert_eq!(short_successor(b"\xff\xffa"), b"\xff\xffb".to_vec());
        assert_eq!(short_successor(b"\xff"), b"\xff".to_vec());
    }

    #[test]
    fn rejects_unsorted_keys() {
        let mut b = TableBuilder::new(TableOptions::default());
        assert!(b.add(b"b", b"").is_ok());
        assert!(b.add(b"a", b"").is_err());
        assert!(b.add(b"b", b"").is_err(), "duplicates are rejected too");
    }
}
