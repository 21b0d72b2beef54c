//! Property tests: bundles, tables and state files round-trip.

use ferroflow_checkpoint::{
    BundleReader, BundleWriter, CheckpointState, PathStyle, Table, TableBuilder, TableOptions,
};
use ferroflow_core::{DType, Tensor};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

fn tensor_of(dtype: DType, shape: Vec<usize>, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    // A cheap deterministic generator keeps shrinking simple: the seed is the only random input per tensor.
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t = match dtype {
        DType::F32 => Tensor::from_vec(
            &shape,
            (0..n).map(|_| f32::from_bits(next() as u32)).map(|v| if v.is_nan() { 0.0 } else { v }).collect(),
        ),
        DType::F64 => Tensor::from_vec(
            &shape,
            (0..n).map(|_| f64::from_bits(next())).map(|v| if v.is_nan() { 0.0 } else { v }).collect(),
        ),
        DType::I32 => Tensor::from_vec(&shape, (0..n).map(|_| next() as i32).collect()),
        DType::I64 => Tensor::from_vec(&shape, (0..n).map(|_| next() as i64).collect()),
        DType::U8 => Tensor::from_vec(&shape, (0..n).map(|_| next() as u8).collect()),
        DType::Bool => Tensor::from_vec(&shape, (0..n).map(|_| next() % 2 == 0).collect()),
        DType::String => Tensor::from_vec(
            &shape,
            (0..n).map(|_| (0..next() % 200).map(|_| next() as u8).collect::<Vec<u8>>()).collect(),
        ),
    };
    t.expect("shape and element count agree")
}

fn arb_tensor() -> impl Strategy<Value = Tensor> {
    (0..DType::ALL.len(), vec(0usize..5, 0..4), any::<u64>())
        .prop_map(|(d, shape, seed)| tensor_of(DType::ALL[d], shape, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn bundle_round_trip(tensors in btree_map("[a-z_/]{1,12}", arb_tensor(), 1..12)) {
        let dir = tempfile::tempdir()?;
        let prefix = dir.path().join("ckpt");
        let mut w = BundleWriter::new(&prefix)?;
        // Added in reverse name order: the index must still come out sorted.
        for (name, t) in tensors.iter().rev() {
            w.add(name, t)?;
        }
        w.finish()?;
        let reader = BundleReader::open(&prefix)?;
        let listed: Vec<String> = reader.keys().map(str::to_string).collect();
        prop_assert_eq!(listed, tensors.keys().cloned().collect::<Vec<_>>());
        for (name, t) in &tensors {
            prop_assert_eq!(&reader.read(name)?, t);
        }
    }

    #[test]
    fn table_round_trip(entries in btree_map(vec(any::<u8>(), 0..24), vec(any::<u8>(), 0..64), 0..600),
                        block_size in 64usize..4096, restart in 1usize..20) {
        let mut b = TableBuilder::new(TableOptions { block_size, block_restart_interval: restart });
        for (k, v) in &entries {
            b.add(k, v)?;
        }
        let table = Table::from_bytes(&b.finish())?;
        let got: Vec<(Vec<u8>, Vec<u8>)> = table.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(got, entries.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn state_file_round_trip(latest in "\\PC{1,30}", paths in btree_set("\\PC{1,30}", 0..6),
                             times in vec(any::<f64>().prop_filter("finite", |t| t.is_finite()), 0..6),
                             preserved in any::<f64>().prop_filter("finite", |t| t.is_finite())) {
        let state = CheckpointState {
            model_checkpoint_path: latest,
            all_model_checkpoint_paths: paths.into_iter().collect(),
            all_model_checkpoint_timestamps: times,
            last_preserved_timestamp: preserved,
        };
        let parsed = CheckpointState::parse(state.to_text().as_bytes())?;
        prop_assert_eq!(&parsed, &state);
    }

    #[test]
    fn state_file_write_read_identity(names in btree_set("[a-zA-Z0-9 ._\"'\\\\-]{1,20}", 1..6), time in 0.0f64..4e9) {
        let dir = tempfile::tempdir()?;
        let abs: Vec<String> = names.iter().map(|n| dir.path().join(format!("m{n}")).to_string_lossy().into_owned()).collect();
        let state = CheckpointState {
            model_checkpoint_path: abs.last().cloned().unwrap_or_default(),
            all_model_checkpoint_paths: abs.clone(),
            all_model_checkpoint_timestamps: vec![time; abs.len()],
            last_preserved_timestamp: time,
        };
        for style in [PathStyle::Relative, PathStyle::AsGiven] {
            state.write(dir.path(), style)?;
            prop_assert_eq!(CheckpointState::read(dir.path())?, Some(state.clone()));
        }
    }
}
