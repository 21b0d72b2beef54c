//! Fuzzes the bundle reader: the `.index` table (footer, blocks, restarts, CRCs), the header and entry
//! protos, and reading every entry from the data bytes. Nothing may panic, hang or allocate more than the
//! input allows.
//!
//! Input: a little-endian u32 `n`, then the index (the next `n % (rest + 1)` bytes), then the data file.
#![no_main]

use ferroflow_checkpoint::{BundleReader, Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((head, rest)) = input.split_first_chunk::<4>() else { return };
    let n = u32::from_le_bytes(*head) as usize % (rest.len() + 1);
    let (index, data) = rest.split_at(n);
    let _ = Table::from_bytes(index);
    if let Ok(reader) = BundleReader::from_bytes(index, data.to_vec()) {
        let _ = reader.list();
        let keys: Vec<String> = reader.keys().map(str::to_string).collect();
        for key in keys {
            let _ = reader.read(&key);
        }
    }
});
