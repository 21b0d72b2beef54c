//! Training on files through the input pipeline: MNIST IDX files and TFRecord Examples, made here; the
//! end of the input stops training with stop_reason "end_of_input".

use crate::{assert_usage_error, ferroflow, listing, report_of, train_args};
use ferroflow_core::Tensor;
use ferroflow_data::encode_idx;
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Example, Feature, FeatureKind, Features, FloatList, Int64List};
use std::path::Path;

/// `n` 8x8 images whose class is drawn as a bright row: image `i` has class `i % 10` and row
/// `class % 8` lit (classes 8 and 9 also light a column), so a linear model can learn them.
fn images_and_labels(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = vec![0u8; n * 64];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 10) as u8;
        let img = &mut pixels[i * 64..(i + 1) * 64];
        for c in 0..8 {
            img[usize::from(class % 8) * 8 + c] = 255;
        }
        if class >= 8 {
            for r in 0..8 {
                img[r * 8 + usize::from(class - 8)] = 200;
            }
        }
        labels.push(class);
    }
    (pixels, labels)
}

fn write_idx(dir: &Path, split: &str, n: usize) {
    let (pixels, labels) = images_and_labels(n);
    let images = Tensor::from_vec(&[n, 8, 8], pixels).unwrap();
    let labels = Tensor::from_vec(&[n], labels).unwrap();
    std::fs::write(dir.join(format!("{split}-images-idx3-ubyte")), encode_idx(&images).unwrap()).unwrap();
    std::fs::write(dir.join(format!("{split}-labels-idx1-ubyte")), encode_idx(&labels).unwrap()).unwrap();
}

fn write_tfrecord(path: &Path, n: usize) {
    let (pixels, labels) = images_and_labels(n);
    let mut writer = ferroflow_record::RecordWriter::new(std::fs::File::create(path).unwrap());
    for (i, label) in labels.iter().enumerate() {
        let image: Vec<f32> = pixels[i * 64..(i + 1) * 64].iter().map(|&p| f32::from(p) / 255.0).collect();
        let feature = |kind| Feature { kind: Some(kind) };
        let example = Example {
            features: Some(Features {
                feature: [
                    ("image".to_string(), feature(FeatureKind::FloatList(FloatList { value: image }))),
                    (
                        "label".to_string(),
                        feature(FeatureKind::Int64List(Int64List { value: vec![i64::from(*label)] })),
                    ),
                ]
                .into_iter()
                .collect(),
            }),
        };
        writer.write_record(&example.encode_to_vec()).unwrap();
    }
    writer.flush().unwrap();
}

fn train_on(data: &str, ckpt: &Path, steps: i64, extra: &[&str]) -> serde_json::Value {
    let mut args = train_args(ckpt, steps, &["--data", data]);
    if extra.contains(&"--model") {
        let at = args.iter().position(|a| a == "--model").unwrap();
        args.drain(at..at + 2);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = ferroflow().args(args).output().unwrap();
    assert!(out.status.success(), "train failed: {}", String::from_utf8_lossy(&out.stderr));
    report_of(&out.stdout)
}

#[test]
fn idx_files_train_until_the_end_of_input() {
    let data = tempfile::tempdir().unwrap();
    write_idx(data.path(), "train", 160);
    write_idx(data.path(), "t10k", 40);
    let ckpt = tempfile::tempdir().unwrap();
    let spec = format!("idx:{}", data.path().display());
    // 160 examples, batch 16, 3 epochs: 30 steps, then end of input.
    let report = train_on(&spec, ckpt.path(), 1000, &["--epochs", "3", "--learning-rate", "0.5"]);
    assert_eq!(report["stop_reason"], "end_of_input", "{report}");
    assert_eq!(report["global_step"], 30, "{report}");
    assert!(report["eval_accuracy"].as_f64().unwrap() >= 0.9, "{report}");
    assert!(report["checkpoint"].as_str().unwrap().ends_with("model.ckpt-30"), "{report}");

    // Stopped before the end: resumes mid-epoch from the checkpoint, input position included.
    let ckpt = tempfile::tempdir().unwrap();
    let first = train_on(&spec, ckpt.path(), 4, &["--save-checkpoint-steps", "2"]);
    assert_eq!((first["global_step"].as_i64(), first["stop_reason"].as_str()), (Some(4), Some("last_step")));
    let second = train_on(&spec, ckpt.path(), 1000, &["--save-checkpoint-steps", "2"]);
    assert_eq!(second["restored_from"], first["checkpoint"]);
    assert_eq!(second["stop_reason"], "end_of_input");
    assert_eq!(second["global_step"], 10, "the rest of the one epoch: {second}");
}

#[test]
fn tfrecord_examples_train_the_cnn() {
    let data = tempfile::tempdir().unwrap();
    write_tfrecord(&data.path().join("a.tfrecord"), 48);
    write_tfrecord(&data.path().join("b.tfrecord"), 32);
    let ckpt = tempfile::tempdir().unwrap();
    let spec = format!("tfrecord:{}/*.tfrecord", data.path().display());
    let report = train_on(&spec, ckpt.path(), 3, &["--model", "cnn"]);
    assert_eq!(report["stop_reason"], "last_step", "{report}");
    assert_eq!(report["global_step"], 3);
    let report = train_on(&spec, ckpt.path(), 1000, &["--model", "cnn"]);
    assert_eq!(report["stop_reason"], "end_of_input", "{report}");
    assert_eq!(report["global_step"], 5, "80 examples in batches of 16: {report}");
}

#[test]
fn unreadable_file_data_is_a_usage_error() {
    let ckpt = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let run =
        |spec: String| ferroflow().args(train_args(ckpt.path(), 5, &["--data", &spec])).output().unwrap();
    let missing = data.path().join("nope");
    let err = assert_usage_error(&run(format!("idx:{}", missing.display())));
    assert!(err.contains("nope"), "{err}");
    let err = assert_usage_error(&run(format!("idx:{}", data.path().display())));
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
    std::fs::write(data.path().join("train-images-idx3-ubyte"), b"not idx").unwrap();
    std::fs::write(data.path().join("train-labels-idx1-ubyte"), b"not idx").unwrap();
    let err = assert_usage_error(&run(format!("idx:{}", data.path().display())));
    assert!(err.contains("not an IDX file"), "{err}");
    let err = assert_usage_error(&run(format!("tfrecord:{}/*.tfrecord", data.path().display())));
    assert!(err.contains("no file matches"), "{err}");
    std::fs::write(data.path().join("bad.tfrecord"), b"garbage").unwrap();
    assert_usage_error(&run(format!("tfrecord:{}/*.tfrecord", data.path().display())));
    assert!(listing(ckpt.path()).is_empty(), "nothing written");
}
