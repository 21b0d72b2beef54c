//! The tensors of tests/fixtures/golden_tensors.py, built in Rust. Keep the two in step.

use ferroflow_core::{Result, Tensor};
use std::path::PathBuf;

/// `tests/fixtures/golden`, written by TensorFlow through `make_golden.py`.
pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join("golden")
}

/// `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

fn strings(items: &[&[u8]]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.to_vec()).collect()
}

/// `golden_tensors()`: every dtype; scalars, vectors, matrices, empty tensors; sorted by name.
pub fn golden_tensors() -> Result<Vec<(String, Tensor)>> {
    let long = vec![b'x'; 300];
    let t = vec![
        ("bool/matrix", Tensor::from_vec(&[2, 2], vec![true, false, false, true])?),
        ("f32/empty", Tensor::from_vec(&[0, 3], Vec::<f32>::new())?),
        ("f32/matrix", Tensor::from_vec(&[2, 3], vec![0.0f32, 0.5, -1.5, 3.25, 1024.125, -65536.0])?),
        ("f32/scalar", Tensor::scalar(3.5f32)),
        ("f64/vector", Tensor::vector(vec![1.5f64, -2.25, 1e300, f64::from_bits(1)])),
        ("global_step", Tensor::scalar(21i64)),
        ("i32/vector", Tensor::vector(vec![i32::MIN, -1, 0, i32::MAX])),
        ("i64/scalar", Tensor::scalar(i64::MAX)),
        ("string/empty", Tensor::from_vec(&[0], Vec::<Vec<u8>>::new())?),
        ("string/scalar", Tensor::string("hello")),
        (
            "string/vector",
            Tensor::from_vec(&[5], strings(&[b"ab", b"", b"xyz", "\u{e9}".as_bytes(), &long]))?,
        ),
        ("u8/matrix", Tensor::from_vec(&[2, 2], vec![0u8, 1, 254, 255])?),
    ];
    Ok(t.into_iter().map(|(n, t)| (n.to_string(), t)).collect())
}

/// `many_tensors()`: 20000 keys with shared prefixes, enough for several index data blocks.
pub fn many_tensors() -> Vec<(String, Tensor)> {
    let mut names: Vec<String> =
        (0..20000).map(|i| format!("many/layer_{i:05}/kernel/Adam_{}", i % 3)).collect();
    names.sort();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let values = (0..i % 4 + 1).map(|k| k as f32 * 0.25 + i as f32).collect();
            (name, Tensor::vector(values))
        })
        .collect()
}

/// `big_tensor()`: a 4 MiB f32 matrix.
pub fn big_tensor() -> Result<(String, Tensor)> {
    let values = (0..1u32 << 20).map(|i| (i % 1000) as f32).collect();
    Ok(("big/embedding".to_string(), Tensor::from_vec(&[1024, 1024], values)?))
}

/// The variables of `make_golden.py`'s TF1 Saver checkpoint at `step`, sorted by name.
pub fn saver_variables(step: i64) -> Result<Vec<(String, Tensor)>> {
    let t = vec![
        ("counts", Tensor::vector(vec![7i32, -8])),
        ("dense/bias", Tensor::vector(vec![0.25f64, -0.5, 1e-3])),
        ("dense/kernel", Tensor::from_vec(&[2, 3], vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0])?),
        ("flags", Tensor::vector(vec![true, false, true])),
        ("global_step", Tensor::scalar(step)),
        ("label", Tensor::string("ferroflow")),
        ("names", Tensor::from_vec(&[2], strings(&[b"a", b"bc"]))?),
        ("pixels", Tensor::from_vec(&[2, 2], vec![0u8, 128, 255, 3])?),
    ];
    Ok(t.into_iter().map(|(n, t)| (n.to_string(), t)).collect())
}
