//! Reads one table block (`block.cc`), checking every length against the block's bounds.

use crate::coding::{get_fixed32, get_varint32};

/// The entries of a block, keys rebuilt from their shared prefixes.
///
/// Errors are plain messages; the table reader turns them into `DataLoss` naming the file.
/// A block entry: the rebuilt key and the value inside the block.
pub(crate) type BlockEntry<'a> = (Vec<u8>, &'a [u8]);

pub(crate) fn block_entries(contents: &[u8]) -> Result<Vec<BlockEntry<'_>>, String> {
    let len = contents.len();
    if len < 4 {
        return Err(format!("block of {len} bytes is too short for its restart count"));
    }
    let num_restarts = get_fixed32(contents, len - 4).unwrap_or(0) as usize;
    let restarts_len = num_restarts
        .checked_mul(4)
        .and_then(|n| n.checked_add(4))
        .filter(|&n| n <= len)
        .ok_or_else(|| format!("block of {len} bytes cannot hold {num_restarts} restart points"))?;
    if num_restarts == 0 {
        return Err("block has no restart points".to_string());
    }
    let end = len - restarts_len;
    let mut entries = Vec::new();
    let mut pos = 0;
    let mut key: Vec<u8> = Vec::new();
    while pos < end {
        let data = &contents[..end];
        let bad = || format!("corrupt block entry at offset {pos}");
        let mut p = pos;
        let shared = get_varint32(data, &mut p).ok_or_else(bad)? as usize;
        let non_shared = get_varint32(data, &mut p).ok_or_else(bad)? as usize;
        let value_len = get_varint32(data, &mut p).ok_or_else(bad)? as usize;
        if shared > key.len() {
            return Err(format!(
                "block entry at offset {pos} shares {shared} bytes with a key of {} bytes",
                key.len()
            ));
        }
        let key_end = p.checked_add(non_shared).filter(|&e| e <= end).ok_or_else(bad)?;
        let value_end = key_end.checked_add(value_len).filter(|&e| e <= end).ok_or_else(bad)?;
        key.truncate(shared);
        key.extend_from_slice(&data[p..key_end]);
        entries.push((key.clone(), &data[key_end..value_end]));
        pos = value_end;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_builder::BlockBuilder;

    #[test]
    fn reads_what_the_builder_wrote() -> Result<(), String> {
        let mut b = BlockBuilder::new(16);
        let keys: Vec<Vec<u8>> = (0..40).map(|i| format!("layer_{i:03}/kernel").into_bytes()).collect();
        for k in &keys {
            b.add(k, k);
        }
        let block = b.finish();
        let got = block_entries(&block)?;
        assert_eq!(got.len(), keys.len());
        for ((k, v), want) in got.iter().zip(&keys) {
            assert_eq!(k, want);
            assert_eq!(v, &want.as_slice());
        }
        Ok(())
    }

    #[test]
    fn rejects_corrupt_blocks() {
        let cases: &[(&[u8], &str)] = &[
            (&[1, 0], "shorter than the restart count"),
            (&[0, 0, 0, 0], "zero restarts"),
            (&[0xff, 0xff, 0xff, 0xff], "absurd restart count"),
            (&[5, 1, 0, b'a', 0, 0, 0, 0, 1, 0, 0, 0], "shares more than the previous key"),
            (&[0, 9, 0, b'a', 0, 0, 0, 0, 1, 0, 0, 0], "key runs past the block"),
            (&[0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0], "truncated varint"),
        ];
        for (block, why) in cases {
            assert!(block_entries(block).is_err(), "{why}");
        }
    }
}
