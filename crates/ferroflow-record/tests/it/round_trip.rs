//! Property tests: whatever is written is read back, in every compression, and cutting a stream
//! anywhere never yields a wrong record.

use ferroflow_record::{Compression, ReadOutcome, RecordReader, RecordWriter};
use proptest::prelude::*;

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![Just(Compression::None), Just(Compression::Gzip), Just(Compression::Zlib)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn write_then_read_is_identity(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
        compression in compression(),
    ) {
        let mut writer = RecordWriter::with_compression(Vec::new(), compression);
        for r in &records {
            writer.write_record(r)?;
        }
        let bytes = writer.into_inner()?;
        let back = RecordReader::with_compression(bytes.as_slice(), compression)
            .collect::<ferroflow_core::Result<Vec<_>>>()?;
        prop_assert_eq!(back, records);
    }

    #[test]
    fn any_prefix_reads_a_prefix_of_the_records(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..8),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut writer = RecordWriter::new(Vec::new());
        for r in &records {
            writer.write_record(r)?;
        }
        let bytes = writer.into_inner()?;
        let cut = cut.index(bytes.len() + 1);
        let mut reader = RecordReader::new(&bytes[..cut]);
        let mut got = Vec::new();
        loop {
            match reader.read_record()? {
                ReadOutcome::Record(r) => got.push(r),
                ReadOutcome::End => { prop_assert_eq!(reader.offset() as usize, cut); break; }
                ReadOutcome::Truncated { offset, available } => {
                    prop_assert_eq!((offset + available) as usize, cut);
                    break;
                }
            }
        }
        prop_assert_eq!(&got[..], &records[..got.len()]);
    }
}
