//! Fuzzes `RecordReader` on arbitrary bytes: it must never panic, loop forever or allocate by a
//! corrupt length, and every record it returns must re-frame to exactly the bytes it was read from.
//!
//! The first input byte picks the options (compression, corruption policy); the rest is the stream.
#![no_main]

use ferroflow_record::{encode_record, Compression, OnCorruption, ReadOutcome, RecordReader, RecordReaderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, stream)) = data.split_first() else { return };
    let compression = match mode % 3 {
        0 => Compression::None,
        1 => Compression::Gzip,
        _ => Compression::Zlib,
    };
    let on_corruption = if mode & 0x80 == 0 { OnCorruption::Fail } else { OnCorruption::SkipToNextRecord };
    let mut reader = RecordReader::with_options(stream, RecordReaderOptions { compression, on_corruption });
    // Every record takes at least 16 bytes of the stream, so this bounds a correct reader on plain
    // input; decompression can multiply records, so compressed input only gets a generous cap.
    let max_reads = if compression == Compression::None { stream.len() / 16 + 1 } else { 1 << 20 };
    for _ in 0..=max_reads {
        let before = reader.offset();
        match reader.read_record() {
            Ok(ReadOutcome::Record(payload)) => {
                let framed = encode_record(&payload);
                assert!(reader.offset() - before >= framed.len() as u64, "offset advanced by a record");
                if compression == Compression::None && on_corruption == OnCorruption::Fail {
                    // Strict mode reads records back to back: the bytes must be exactly a frame.
                    let at = before as usize;
                    assert_eq!(&stream[at..at + framed.len()], framed.as_slice());
                }
            }
            Ok(ReadOutcome::End) | Ok(ReadOutcome::Truncated { .. }) => return,
            Err(_) => return,
        }
    }
    assert!(compression != Compression::None, "reader did not finish a {}-byte stream", stream.len());
});
