//! Times saving and restoring a large checkpoint; `scripts/checkpoint_bench.sh` runs it beside TensorFlow
//! and `dd`. Prints one JSON object with the median and every run.
//!
//! Expected outcome: a line like `{"tool":"ferroflow","save_fsync_median_s":...,"restore_median_s":...}`:
//! saves with and without fsync (TF does not fsync), restores into new tensors on the default threads and
//! on one, and restores into existing tensors (`read_many_into`).
//!
//! Usage: `checkpoint_bench DIR [TENSORS] [ELEMENTS] [REPS]`, by default 100 tensors of 1M f32 (400 MB), 5
//! runs. The files are deleted at the end.

use ferroflow_checkpoint::{BundleReader, BundleWriter, Durability};
use ferroflow_core::{Error, Result, Tensor};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(
        args.get(1).ok_or_else(|| Error::invalid_argument("usage: checkpoint_bench DIR"))?,
    );
    let arg = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (count, elements, reps) = (arg(2, 100), arg(3, 1 << 20), arg(4, 5));
    let tensors: Vec<(String, Tensor)> = (0..count)
        .map(|i| {
            let values: Vec<f32> = (0..elements).map(|k| ((k * 31 + i * 7) % 10007) as f32 * 0.001).collect();
            Ok((format!("layer_{i:03}/kernel"), Tensor::from_vec(&[elements], values)?))
        })
        .collect::<Result<_>>()?;
    let bytes = (count * elements * 4) as f64;
    let prefix = dir.join("ferroflow_bench");
    let mut runs: [Vec<f64>; 5] = Default::default();
    // Restoring into existing tensors, as a saver restores existing variables: no allocation.
    let mut targets: Vec<(String, Tensor)> =
        tensors.iter().map(|(n, t)| (n.clone(), Tensor::zeros(t.dtype(), t.shape()))).collect();
    for _ in 0..reps {
        for (slot, durability) in [(0, Durability::Fsync), (1, Durability::OsBuffered)] {
            let t = Instant::now();
            let mut w = BundleWriter::new(&prefix)?;
            w.set_durability(durability);
            for (name, tensor) in &tensors {
                w.add(name, tensor)?;
            }
            w.finish()?;
            runs[slot].push(t.elapsed().as_secs_f64());
        }
        for (slot, threads) in [(2, 0), (3, 1)] {
            let t = Instant::now();
            let mut reader = BundleReader::open(&prefix)?;
            if threads > 0 {
                reader.set_read_threads(threads);
            }
            let back = reader.read_all()?;
            runs[slot].push(t.elapsed().as_secs_f64());
            if back.len() != count || back.first().map(|(_, t)| t) != tensors.first().map(|(_, t)| t) {
                return Err(Error::internal("restored tensors differ"));
            }
        }
    }
    // Once more, after the loop above has saved the checkpoint for the last time.
    for _ in 0..reps {
        let t = Instant::now();
        let reader = BundleReader::open(&prefix)?;
        let mut into: Vec<(&str, &mut Tensor)> = targets.iter_mut().map(|(n, t)| (n.as_str(), t)).collect();
        reader.read_many_into(&mut into)?;
        runs[4].push(t.elapsed().as_secs_f64());
    }
    if targets.last().map(|(_, t)| t) != tensors.last().map(|(_, t)| t) {
        return Err(Error::internal("tensors restored in place differ"));
    }
    for f in ferroflow_checkpoint::checkpoint_files(&prefix)? {
        std::fs::remove_file(f)?;
    }
    let names = ["save_fsync", "save_no_fsync", "restore", "restore_1_thread", "restore_into"];
    let mut fields = vec![format!("\"tool\":\"ferroflow\",\"bytes\":{bytes}")];
    for (name, v) in names.iter().zip(&runs) {
        let m = median(v.clone());
        fields.push(format!("\"{name}_median_s\":{m:.4},\"{name}_MBps\":{:.0}", bytes / m / 1e6));
    }
    for (name, v) in names.iter().zip(&runs) {
        fields.push(format!("\"{name}_runs\":{v:?}"));
    }
    println!("{{{}}}", fields.join(","));
    Ok(())
}
