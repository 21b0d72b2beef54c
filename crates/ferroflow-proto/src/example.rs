//! `tensorflow/core/example/example.proto` and `feature.proto`: the usual payload of TFRecord input
//! files. Repeated scalars are declared packed (as TF writes them); prost also accepts the unpacked
//! encoding, as the protobuf spec requires of readers.

use std::collections::HashMap;

/// `tf.train.Example`: one record of named features.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Example {
    /// The features.
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

/// `tf.train.Features`: a map from feature name to value list.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    /// The features by name.
    #[prost(map = "string, message", tag = "1")]
    pub feature: HashMap<String, Feature>,
}

/// `tf.train.Feature`: one list of bytes, floats or 64-bit integers.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    /// The list (TF's `oneof kind`); `None` is an empty feature.
    #[prost(oneof = "FeatureKind", tags = "1, 2, 3")]
    pub kind: Option<FeatureKind>,
}

/// The `oneof kind` of a [`Feature`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FeatureKind {
    /// `bytes_list`.
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    /// `float_list`.
    #[prost(message, tag = "2")]
    FloatList(FloatList),
    /// `int64_list`.
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

/// `tf.train.BytesList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    /// The values.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

/// `tf.train.FloatList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    /// The values.
    #[prost(float, repeated, packed = "true", tag = "1")]
    pub value: Vec<f32>,
}

/// `tf.train.Int64List`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    /// The values.
    #[prost(int64, repeated, packed = "true", tag = "1")]
    pub value: Vec<i64>,
}

impl Feature {
    /// A bytes feature.
    pub fn bytes(values: Vec<Vec<u8>>) -> Feature {
        Feature { kind: Some(FeatureKind::BytesList(BytesList { value: values })) }
    }

    /// A float feature.
    pub fn floats(values: Vec<f32>) -> Feature {
        Feature { kind: Some(FeatureKind::FloatList(FloatList { value: values })) }
    }

    /// An int64 feature.
    pub fn int64s(values: Vec<i64>) -> Feature {
        Feature { kind: Some(FeatureKind::Int64List(Int64List { value: values })) }
    }
}

impl Example {
    /// An example of these features.
    pub fn new(features: impl IntoIterator<Item = (String, Feature)>) -> Example {
        Example { features: Some(Features { feature: features.into_iter().collect() }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// The bytes TF writes for `{"id": b"a", "label": 3, "x": [0.5, -1.0]}` (spec/formats.md 1.3).
    const TF_BYTES: &str = "0a300a0b0a0269641205 0a030a01610a0e0a056c6162656c12051a030a01030a110a0178120c120a0a080000003f000080bf";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
    }

    #[test]
    fn decodes_tf_bytes() -> Result<(), prost::DecodeError> {
        let ex = Example::decode(hex(TF_BYTES).as_slice())?;
        let f = ex.features.unwrap_or_default().feature;
        assert_eq!(f.get("id"), Some(&Feature::bytes(vec![b"a".to_vec()])));
        assert_eq!(f.get("label"), Some(&Feature::int64s(vec![3])));
        assert_eq!(f.get("x"), Some(&Feature::floats(vec![0.5, -1.0])));
        Ok(())
    }

    #[test]
    fn unpacked_floats_are_accepted() -> Result<(), prost::DecodeError> {
        // FloatList with two unpacked values: tag 1 wire type 5 (0x0d), twice.
        let mut bytes = vec![0x0d];
        bytes.extend_from_slice(&0.5f32.to_le_bytes());
        bytes.push(0x0d);
        bytes.extend_from_slice(&2.0f32.to_le_bytes());
        assert_eq!(FloatList::decode(bytes.as_slice())?.value, vec![0.5, 2.0]);
        Ok(())
    }
}
