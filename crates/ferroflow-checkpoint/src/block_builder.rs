//! Builds one table block (`block_builder.cc`): prefix-compressed keys with restart points.

use crate::coding::{put_fixed32, put_varint64};

/// Accumulates sorted entries of one block.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    restart_interval: usize,
    buffer: Vec<u8>,
    restarts: Vec<u32>,
    counter: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            restart_interval: restart_interval.max(1),
            buffer: Vec::new(),
            restarts: vec![0],
            counter: 0,
            last_key: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// What the block would take once finished; the table builder flushes on this, as TF does.
    pub(crate) fn size_estimate(&self) -> usize {
        self.buffer.len() + 4 * self.restarts.len() + 4
    }

    /// Appends an entry; the caller keeps keys sorted.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let mut shared = 0;
        if self.counter < self.restart_interval {
            shared = self.last_key.iter().zip(key).take_while(|(a, b)| a == b).count();
        } else {
            // The block is far below 4 GiB: the table builder flushes at its block size.
            self.restarts.push(self.buffer.len() as u32);
            self.counter = 0;
        }
        put_varint64(&mut self.buffer, shared as u64);
        put_varint64(&mut self.buffer, (key.len() - shared) as u64);
        put_varint64(&mut self.buffer, value.len() as u64);
        self.buffer.extend_from_slice(&key[shared..]);
        self.buffer.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.counter += 1;
    }

    /// The finished block contents; the builder is reset for the next block.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buffer);
        for &r in &self.restarts {
            put_fixed32(&mut out, r);
        }
        put_fixed32(&mut out, self.restarts.len() as u32);
        self.restarts = vec![0];
        self.counter = 0;
        self.last_key.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_compresses_and_restarts() {
        let mut b = BlockBuilder::new(2);
        b.add(b"abc", b"1");
        b.add(b"abd", b"2");
        b.add(b"abe", b"3");
        let out = b.finish();
        // entry 1: 0,3,1 "abc" "1"; entry 2: 2,1,1 "d" "2"; entry 3 is a restart: 0,3,1 "abe" "3".
        let expected_entries: &[u8] =
            &[0, 3, 1, b'a', b'b', b'c', b'1', 2, 1, 1, b'd', b'2', 0, 3, 1, b'a', b'b', b'e', b'3'];
        assert_eq!(&out[..expected_entries.len()], expected_entries);
        assert_eq!(&out[expected_entries.len()..], &[0, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0]);
        assert!(b.is_empty());
        assert_eq!(b.finish(), vec![0, 0, 0, 0, 1, 0, 0, 0], "an empty block still has one restart");
    }
}
