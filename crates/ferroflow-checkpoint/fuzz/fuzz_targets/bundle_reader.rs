//! Fuzzes the bundle reader: the `.index` table (footer, blocks, restarts, CRCs), the header and entry
//! protos, and reading every entry from the data bytes. Nothing may panic, hang or allocate more than the
//! input allows.
//!
//! Two input modes, chosen by the first byte:
//! - even: raw files. A little-endian u32 `n`, then the index (the next `n % (rest + 1)` bytes), then the
//!   data file. Finds bugs in the table layer; block CRCs keep it from going much deeper.
//! - odd: structured. Entries (key, dtype, shape, offset, size, CRC or a correct CRC, or junk instead of a
//!   proto) built into a valid table, so that entry decoding and tensor reads are reached.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use ferroflow_checkpoint::{BundleReader, Table, TableBuilder, TableOptions};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{BundleEntryProto, BundleHeaderProto, Dim, TensorShapeProto, VersionDef};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

#[derive(Arbitrary, Debug)]
struct Entry {
    key: String,
    dtype: u8,
    dims: Vec<i8>,
    shard: u8,
    offset: u16,
    size: u16,
    crc: u32,
    fix_crc: bool,
    junk: Option<Vec<u8>>,
}

#[derive(Arbitrary, Debug)]
struct Structured {
    entries: Vec<Entry>,
    data: Vec<u8>,
    block_size: u16,
    restart_interval: u8,
    num_shards: u8,
    min_consumer: u8,
}

fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn read_all(reader: &BundleReader) {
    let _ = reader.list();
    let keys: Vec<String> = reader.keys().map(str::to_string).collect();
    for key in keys {
        let _ = reader.read(&key);
    }
}

fn raw(input: &[u8]) {
    let Some((head, rest)) = input.split_first_chunk::<4>() else { return };
    let n = u32::from_le_bytes(*head) as usize % (rest.len() + 1);
    let (index, data) = rest.split_at(n);
    let _ = Table::from_bytes(index);
    if let Ok(reader) = BundleReader::from_bytes(index, data.to_vec()) {
        read_all(&reader);
    }
}

fn structured(input: &[u8]) {
    let Ok(s) = Structured::arbitrary(&mut Unstructured::new(input)) else { return };
    let header = BundleHeaderProto {
        num_shards: i32::from(s.num_shards % 3),
        endianness: 0,
        version: Some(VersionDef {
            producer: 1,
            min_consumer: i32::from(s.min_consumer % 3),
            bad_consumers: vec![],
        }),
    };
    let mut values = BTreeMap::new();
    for e in s.entries {
        if e.key.is_empty() {
            continue;
        }
        let value = match e.junk {
            Some(junk) => junk,
            None => {
                let (start, end) = (usize::from(e.offset), usize::from(e.offset) + usize::from(e.size));
                let crc = match s.data.get(start..end) {
                    Some(bytes) if e.fix_crc => mask(crc32c::crc32c(bytes)),
                    _ => e.crc,
                };
                let dtype =
                    [1, 2, 3, 4, 7, 9, 10, 19, 101].get(usize::from(e.dtype % 9)).copied().unwrap_or(1);
                BundleEntryProto {
                    dtype,
                    shape: Some(TensorShapeProto {
                        dim: e
                            .dims
                            .iter()
                            .take(6)
                            .map(|&d| Dim { size: i64::from(d), name: String::new() })
                            .collect(),
                        unknown_rank: false,
                    }),
                    shard_id: i32::from(e.shard % 3),
                    offset: i64::from(e.offset),
                    size: i64::from(e.size),
                    crc32c: crc,
                    slices: vec![],
                }
                .encode_to_vec()
            }
        };
        values.insert(e.key.into_bytes(), value);
    }
    let options = TableOptions {
        block_size: usize::from(s.block_size).max(1),
        block_restart_interval: usize::from(s.restart_interval).max(1),
    };
    let mut table = TableBuilder::new(options);
    if table.add(b"", &header.encode_to_vec()).is_err() {
        return;
    }
    for (k, v) in &values {
        if table.add(k, v).is_err() {
            return;
        }
    }
    let index = table.finish();
    if let Ok(reader) = BundleReader::from_bytes(&index, s.data) {
        read_all(&reader);
    }
}

fuzz_target!(|input: &[u8]| {
    match input.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => structured(rest),
        Some((_, rest)) => raw(rest),
        None => {}
    }
});
