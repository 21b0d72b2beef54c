//! `tensorflow/core/protobuf/tensor_bundle.proto`, `tensor_slice.proto` and `versions.proto`: the messages
//! inside a V2 checkpoint's `.index` table.

use crate::TensorShapeProto;

/// `BundleHeaderProto`: the value under the empty key, first in every `.index` table.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BundleHeaderProto {
    /// Number of `.data-?????-of-NNNNN` files.
    #[prost(int32, tag = "1")]
    pub num_shards: i32,
    /// Byte order of the data files.
    #[prost(enumeration = "Endianness", tag = "2")]
    pub endianness: i32,
    /// Format version; TF writes `producer = 1` and rejects readers older than `min_consumer`.
    #[prost(message, optional, tag = "3")]
    pub version: Option<VersionDef>,
}

/// `BundleHeaderProto.Endianness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Endianness {
    /// Little-endian, what TF writes on every common platform.
    Little = 0,
    /// Big-endian (s390x).
    Big = 1,
}

/// `VersionDef`: producer version and the oldest consumer that may read the data.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionDef {
    /// Version of the writer.
    #[prost(int32, tag = "1")]
    pub producer: i32,
    /// Oldest reader version that can read the data.
    #[prost(int32, tag = "2")]
    pub min_consumer: i32,
    /// Reader versions that must not read the data.
    #[prost(int32, repeated, tag = "3")]
    pub bad_consumers: Vec<i32>,
}

/// `BundleEntryProto`: where one tensor lives in the data files and how to check it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BundleEntryProto {
    /// `DataType` number (`DT_FLOAT` = 1, ...).
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The tensor's shape; TF writes it even for scalars.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
    /// Which data file holds the bytes.
    #[prost(int32, tag = "3")]
    pub shard_id: i32,
    /// Byte offset in that data file.
    #[prost(int64, tag = "4")]
    pub offset: i64,
    /// Byte length in that data file.
    #[prost(int64, tag = "5")]
    pub size: i64,
    /// Masked CRC32C of the stored bytes (for strings, of the lengths, their checksum and the bytes).
    #[prost(fixed32, tag = "6")]
    pub crc32c: u32,
    /// Slices of a partitioned variable; when present, fields 3 to 6 are unused.
    #[prost(message, repeated, tag = "7")]
    pub slices: Vec<TensorSliceProto>,
}

/// `TensorSliceProto`: a slice of a tensor, one extent per dimension.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorSliceProto {
    /// Extent of the slice in each dimension.
    #[prost(message, repeated, tag = "1")]
    pub extent: Vec<Extent>,
}

/// `TensorSliceProto.Extent`: start and length in one dimension; no length means "to the end".
#[derive(Clone, PartialEq, prost::Message)]
pub struct Extent {
    /// First index of the slice.
    #[prost(int64, tag = "1")]
    pub start: i64,
    /// Number of indices, or `None` for the whole dimension.
    #[prost(int64, optional, tag = "2")]
    pub length: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn encodes_like_tensorflow() {
        // Bytes from the annotated example in spec/formats.md 4.5.
        let header = BundleHeaderProto {
            num_shards: 1,
            endianness: Endianness::Little as i32,
            version: Some(VersionDef { producer: 1, ..Default::default() }),
        };
        assert_eq!(header.encode_to_vec(), [0x08, 0x01, 0x1a, 0x02, 0x08, 0x01]);
        let entry = BundleEntryProto {
            dtype: 9,
            shape: Some(TensorShapeProto::default()),
            size: 8,
            crc32c: 0x2b6b_abd6,
            ..Default::default()
        };
        assert_eq!(entry.encode_to_vec(), [0x08, 0x09, 0x12, 0x00, 0x28, 0x08, 0x35, 0xd6, 0xab, 0x6b, 0x2b]);
        let w = BundleEntryProto {
            dtype: 1,
            shape: Some(TensorShapeProto::from_dims(&[2, 3])),
            offset: 8,
            size: 24,
            crc32c: 0x173d_dbc0,
            ..Default::default()
        };
        let bytes = w.encode_to_vec();
        assert_eq!(
            &bytes[..16],
            [0x08, 0x01, 0x12, 0x08, 0x12, 0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x03, 0x20, 0x08, 0x28, 0x18]
        );
        assert_eq!(BundleEntryProto::decode(bytes.as_slice()).ok(), Some(w));
    }

    #[test]
    fn slices_round_trip() {
        let e = BundleEntryProto {
            slices: vec![TensorSliceProto {
                extent: vec![Extent { start: 0, length: Some(2) }, Extent { start: 1, length: None }],
            }],
            ..Default::default()
        };
        assert_eq!(BundleEntryProto::decode(e.encode_to_vec().as_slice()).ok(), Some(e));
    }
}
