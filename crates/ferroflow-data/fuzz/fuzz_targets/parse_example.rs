//! Fuzzes `tf.train.Example` parsing on arbitrary bytes: `parse_single_example` must never panic or
//! allocate by a corrupt length, and whatever it returns must agree with the spec (dtype and shape of
//! every feature) and with the decoded message (the values of a feature that is present).
//!
//! The first input byte picks the feature spec; the rest is the serialized Example.
#![no_main]

use ferroflow_core::{DType, Tensor};
use ferroflow_data::{parse_example, parse_single_example, FeatureSpec, FixedLenFeature};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Example, FeatureKind};
use libfuzzer_sys::fuzz_target;

fn spec(mode: u8) -> Option<FeatureSpec> {
    let x = |n: usize| FixedLenFeature::new(DType::F32, &[n]);
    let mut features = vec![
        ("x".to_string(), x(usize::from(mode % 4))),
        ("label".to_string(), FixedLenFeature::new(DType::I64, &[])),
        ("id".to_string(), FixedLenFeature::new(DType::String, &[])),
    ];
    if mode & 0x10 != 0 {
        features[1].1 = FixedLenFeature::new(DType::I64, &[]).with_default(Tensor::scalar(-1i64));
    }
    if mode & 0x20 != 0 {
        features[2].1 = FixedLenFeature::new(DType::String, &[2, 1]).with_default(Tensor::string("d"));
    }
    FeatureSpec::new(features).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let Some(spec) = spec(mode) else { return };
    let parsed = parse_single_example(bytes, &spec);
    let decoded = Example::decode(bytes);
    match (&parsed, &decoded) {
        (Ok(_), Err(e)) => panic!("parsed bytes that do not decode as an Example: {e}"),
        (Ok(tensors), Ok(example)) => {
            assert_eq!(tensors.len(), spec.features().len());
            let map = example.features.as_ref().map(|f| &f.feature);
            for (t, (name, f)) in tensors.iter().zip(spec.features()) {
                assert_eq!(t.dtype(), f.dtype, "{name}");
                assert_eq!(t.shape(), f.shape.as_slice(), "{name}");
                match map.and_then(|m| m.get(name)).and_then(|feat| feat.kind.as_ref()) {
                    Some(FeatureKind::FloatList(l)) => assert_eq!(t.to_vec::<f32>().ok().map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()), Some(l.value.iter().map(|x| x.to_bits()).collect())),
                    Some(FeatureKind::Int64List(l)) => assert_eq!(t.to_vec::<i64>().ok().as_ref(), Some(&l.value)),
                    Some(FeatureKind::BytesList(l)) => assert_eq!(t.to_vec::<Vec<u8>>().ok().as_ref(), Some(&l.value)),
                    None => assert!(f.default.is_some(), "{name} missing without a default but parsed"),
                }
            }
            // The batched parser agrees with the single one.
            let batch = Tensor::vector(vec![bytes.to_vec(), bytes.to_vec()]);
            let batched = parse_example(&batch, &spec).expect("a parsable example parses in a batch");
            for (b, t) in batched.iter().zip(tensors) {
                assert_eq!(b.shape()[0], 2);
                assert_eq!(b.shape()[1..], *t.shape());
            }
        }
        (Err(e), _) => assert_eq!(e.code(), ferroflow_core::Code::InvalidArgument, "{e}"),
    }
});
