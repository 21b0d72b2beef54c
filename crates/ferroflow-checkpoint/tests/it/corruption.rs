//! Damaged and missing files: the right code, naming the file or tensor.

use crate::fixtures::golden_tensors;
use ferroflow_checkpoint::{
    data_filename, index_filename, latest_valid_checkpoint, verify, BundleReader, CheckpointManager,
    CheckpointManagerConfig,
};
use ferroflow_core::{Code, Error, Result};
use std::path::{Path, PathBuf};

fn golden_checkpoint(dir: &Path) -> Result<PathBuf> {
    let prefix = dir.join("ckpt");
    let mut w = ferroflow_checkpoint::BundleWriter::new(&prefix)?;
    for (name, t) in golden_tensors()? {
        w.add(&name, &t)?;
    }
    w.finish()?;
    Ok(prefix)
}

fn code_and_message<T>(r: Result<T>) -> (Code, String) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.code(), e.to_string()),
    }
}

/// Opens and reads everything; the first error.
fn read_everything(prefix: &Path) -> Result<()> {
    let reader = BundleReader::open(prefix)?;
    reader.read_all().map(|_| ())
}

#[test]
fn missing_files_and_keys_are_not_found_by_name() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (code, msg) = code_and_message(BundleReader::open(dir.path().join("nope")));
    assert_eq!(code, Code::NotFound);
    assert!(msg.contains("nope.index"), "{msg}");

    let prefix = golden_checkpoint(dir.path())?;
    let reader = BundleReader::open(&prefix)?;
    let (code, msg) = code_and_message(reader.read("no/such/var"));
    assert_eq!(code, Code::NotFound);
    assert!(msg.contains("no/such/var"), "{msg}");

    std::fs::remove_file(data_filename(&prefix, 0, 1))?;
    let (code, msg) = code_and_message(BundleReader::open(&prefix));
    assert_eq!(code, Code::NotFound);
    assert!(msg.contains("ckpt.data-00000-of-00001"), "{msg}");
    Ok(())
}

#[test]
fn every_flipped_data_byte_is_data_loss_naming_the_tensor() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let prefix = golden_checkpoint(dir.path())?;
    let data_path = data_filename(&prefix, 0, 1);
    let clean = std::fs::read(&data_path)?;
    let reader = BundleReader::open(&prefix)?;
    for i in 0..clean.len() {
        let mut bad = clean.clone();
        bad[i] ^= 0x01;
        std::fs::write(&data_path, &bad)?;
        let owner = reader
            .keys()
            .find(|k| {
                reader
                    .entry(k)
                    .is_some_and(|e| (e.offset as usize..(e.offset + e.size) as usize).contains(&i))
            })
            .expect("every data byte belongs to a tensor")
            .to_string();
        let (code, msg) = code_and_message(reader.read(&owner));
        assert_eq!(code, Code::DataLoss, "byte {i} of {owner}: {msg}");
        assert!(msg.contains(&owner), "byte {i}: {msg}");
    }
    Ok(())
}

#[test]
fn truncated_data_is_data_loss() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let prefix = golden_checkpoint(dir.path())?;
    let data_path = data_filename(&prefix, 0, 1);
    let clean = std::fs::read(&data_path)?;
    std::fs::write(&data_path, &clean[..clean.len() - 1])?;
    let (code, msg) = code_and_message(read_everything(&prefix));
    assert_eq!(code, Code::DataLoss, "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    Ok(())
}

#[test]
fn every_damaged_index_is_data_loss_or_harmless() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let prefix = golden_checkpoint(dir.path())?;
    let index_path = index_filename(&prefix);
    let clean = std::fs::read(&index_path)?;
    let expected = BundleReader::open(&prefix)?.read_all()?;
    for i in 0..clean.len() {
        let mut bad = clean.clone();
        bad[i] ^= 0x20;
        std::fs::write(&index_path, &bad)?;
        match BundleReader::open(&prefix).and_then(|r| r.read_all()) {
            Err(e) => assert_eq!(e.code(), Code::DataLoss, "flip at {i}: {e}"),
            // Only the footer's zero padding is not covered by a checksum.
            Ok(all) => assert_eq!(all, expected, "flip at {i} changed values silently"),
        }
    }
    for len in [0, 1, 47, 48, clean.len() / 2, clean.len() - 1] {
        std::fs::write(&index_path, &clean[..len])?;
        let (code, msg) = code_and_message(BundleReader::open(&prefix));
        assert_eq!(code, Code::DataLoss, "truncated to {len}: {msg}");
        assert!(msg.contains("ckpt.index"), "{msg}");
    }
    Ok(())
}

#[test]
fn latest_valid_checkpoint_skips_a_damaged_newest() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut m = CheckpointManager::new(dir.path(), CheckpointManagerConfig::default())?;
    let tensors = golden_tensors()?;
    let named = || tensors.iter().map(|(n, t)| (n.as_str(), t));
    let first = m.save(Some(1), named())?;
    let second = m.save(Some(2), named())?;
    assert_eq!(latest_valid_checkpoint(dir.path())?, Some(second.clone()));
    assert_eq!(verify(&second)?.tensors, tensors.len());

    let data_path = data_filename(&second, 0, 1);
    let mut bytes = std::fs::read(&data_path)?;
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data_path, bytes)?;
    assert_eq!(verify(&second).map_err(|e| e.code()).err(), Some(Code::DataLoss));
    assert_eq!(latest_valid_checkpoint(dir.path())?, Some(first.clone()));

    std::fs::remove_file(index_filename(&first))?;
    assert_eq!(latest_valid_checkpoint(dir.path())?, None);
    Ok(())
}

#[test]
fn in_memory_bundles_check_the_same_things() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let prefix = golden_checkpoint(dir.path())?;
    let index = std::fs::read(index_filename(&prefix))?;
    let data = std::fs::read(data_filename(&prefix, 0, 1))?;
    let reader = BundleReader::from_bytes(&index, data.clone())?;
    assert_eq!(reader.read_all()?, BundleReader::open(&prefix)?.read_all()?);
    let short = BundleReader::from_bytes(&index, data[..data.len() / 2].to_vec())?;
    assert_eq!(short.read_all().map_err(|e: Error| e.code()).err(), Some(Code::DataLoss));
    Ok(())
}

#[test]
fn parallel_reads_match_sequential_ones_and_report_damage() -> Result<()> {
    // 40 MB, above the threshold where read_all starts threads.
    let dir = tempfile::tempdir()?;
    let prefix = dir.path().join("big");
    let mut w = ferroflow_checkpoint::BundleWriter::new(&prefix)?;
    w.set_durability(ferroflow_checkpoint::Durability::OsBuffered);
    let tensors: Vec<(String, ferroflow_core::Tensor)> =
        (0..10).map(|i| (format!("t{i}"), ferroflow_core::Tensor::vector(vec![i as f32; 1 << 20]))).collect();
    for (n, t) in &tensors {
        w.add(n, t)?;
    }
    w.finish()?;
    let mut reader = BundleReader::open(&prefix)?;
    reader.set_read_threads(4);
    assert_eq!(reader.read_all()?, tensors);
    assert_eq!(reader.read_many(&["t7", "t2"])?, vec![tensors[7].1.clone(), tensors[2].1.clone()]);

    let data_path = data_filename(&prefix, 0, 1);
    let mut bytes = std::fs::read(&data_path)?;
    let t5 = reader.entry("t5").map(|e| e.offset as usize).unwrap();
    bytes[t5 + 12345] ^= 1;
    std::fs::write(&data_path, bytes)?;
    let (code, msg) = code_and_message(reader.read_all());
    assert_eq!(code, Code::DataLoss);
    assert!(msg.contains("tensor t5 "), "{msg}");
    reader.set_read_threads(1);
    assert_eq!(code_and_message(reader.read_all()).1, msg, "the same error on one thread");
    Ok(())
}

#[test]
fn read_into_reuses_memory_and_falls_back_when_it_cannot() -> Result<()> {
    use ferroflow_core::Tensor;
    let dir = tempfile::tempdir()?;
    let prefix = golden_checkpoint(dir.path())?;
    let reader = BundleReader::open(&prefix)?;
    for (name, want) in golden_tensors()? {
        // Same dtype and shape (reused), and a mismatching tensor (replaced).
        let mut same = Tensor::zeros(want.dtype(), want.shape());
        let shared = same.clone();
        reader.read_into(&name, &mut same)?;
        assert_eq!(same, want, "{name}");
        assert_eq!(shared, Tensor::zeros(want.dtype(), want.shape()), "{name}: a shared copy is not written");
        let mut other = Tensor::scalar(0u8);
        reader.read_into(&name, &mut other)?;
        assert_eq!(other, want, "{name}");
    }
    let mut many: Vec<(String, Tensor)> =
        golden_tensors()?.into_iter().map(|(n, t)| (n, Tensor::zeros(t.dtype(), t.shape()))).collect();
    let mut targets: Vec<(&str, &mut Tensor)> = many.iter_mut().map(|(n, t)| (n.as_str(), t)).collect();
    reader.read_many_into(&mut targets)?;
    assert_eq!(many, golden_tensors()?);

    let data_path = data_filename(&prefix, 0, 1);
    let mut bytes = std::fs::read(&data_path)?;
    let at = reader.entry("f32/matrix").map(|e| e.offset as usize).unwrap();
    bytes[at] ^= 1;
    std::fs::write(&data_path, bytes)?;
    let mut t = Tensor::zeros(ferroflow_core::DType::F32, &[2, 3]);
    let (code, msg) = code_and_message(reader.read_into("f32/matrix", &mut t));
    assert_eq!(code, Code::DataLoss);
    assert!(msg.contains("f32/matrix"), "{msg}");
    Ok(())
}

/// A two-shard bundle with a partitioned variable, as a sharded TF saver writes them, built by hand.
fn sharded_bundle(dir: &Path) -> Result<PathBuf> {
    use ferroflow_proto::prost::Message;
    use ferroflow_proto::{
        BundleEntryProto, BundleHeaderProto, Extent, TensorShapeProto, TensorSliceProto, VersionDef,
    };
    let prefix = dir.join("sharded");
    let masked = |bytes: &[u8]| {
        let c = crc32c::crc32c(bytes);
        c.rotate_right(15).wrapping_add(0xa282_ead8)
    };
    let a: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let b = 42i64.to_le_bytes();
    std::fs::write(data_filename(&prefix, 0, 2), &a)?;
    std::fs::write(data_filename(&prefix, 1, 2), b)?;
    let entry = |dtype: i32, dims: &[usize], shard_id: i32, bytes: &[u8]| BundleEntryProto {
        dtype,
        shape: Some(TensorShapeProto::from_dims(dims)),
        shard_id,
        offset: 0,
        size: bytes.len() as i64,
        crc32c: masked(bytes),
        slices: vec![],
    };
    let partitioned = BundleEntryProto {
        slices: vec![TensorSliceProto { extent: vec![Extent { start: 0, length: Some(2) }] }],
        ..entry(1, &[4], 0, &[])
    };
    let header = BundleHeaderProto {
        num_shards: 2,
        endianness: 0,
        version: Some(VersionDef { producer: 1, ..Default::default() }),
    };
    let mut t = ferroflow_checkpoint::TableBuilder::new(ferroflow_checkpoint::TableOptions::default());
    t.add(b"", &header.encode_to_vec())?;
    t.add(b"a", &entry(1, &[2], 0, &a).encode_to_vec())?;
    t.add(b"b", &entry(9, &[], 1, &b).encode_to_vec())?;
    t.add(b"p", &partitioned.encode_to_vec())?;
    std::fs::write(index_filename(&prefix), t.finish())?;
    Ok(prefix)
}

#[test]
fn reads_sharded_bundles_and_rejects_partitioned_variables_by_name() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let prefix = sharded_bundle(dir.path())?;
    let reader = BundleReader::open(&prefix)?;
    assert_eq!(reader.read("a")?.to_vec::<f32>()?, vec![1.5, -2.0]);
    assert_eq!(reader.read("b")?.scalar_value::<i64>()?, 42);
    let (code, msg) = code_and_message(reader.read("p"));
    assert_eq!(code, Code::Unimplemented);
    assert!(msg.contains("tensor p ") && msg.contains("partitioned"), "{msg}");
    assert_eq!(verify(&prefix)?.tensors, 2, "verify skips the partitioned entry");

    std::fs::remove_file(data_filename(&prefix, 1, 2))?;
    let (code, msg) = code_and_message(BundleReader::open(&prefix));
    assert_eq!(code, Code::NotFound);
    assert!(msg.contains("sharded.data-00001-of-00002"), "{msg}");
    Ok(())
}
