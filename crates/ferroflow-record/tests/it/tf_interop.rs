//! Byte-for-byte agreement with TensorFlow's own TFRecord writer and reader.

use ferroflow_record::{Compression, RecordReader, RecordWriter};
use std::fs::File;
use std::io::BufWriter;

#[test]
fn tfrecord_vectors_match_tensorflow() {
    let Some(py) = ferroflow_oracle::python("tfrecord_vectors_match_tensorflow").unwrap() else { return };
    let script = ferroflow_oracle::shared_oracle_dir().join("tfrecord_vectors.py");
    let out = ferroflow_oracle::run(&py, &[script.to_str().unwrap(), "--check"]).unwrap();
    assert!(out.contains("OK: TensorFlow writes identical bytes"), "{out}");
}

const PAYLOADS: [&[u8]; 4] = [b"", b"hello", b"\0\0\0", b"a longer payload with \xff bytes"];

/// TF reads what we write, in every compression, and we read what TF writes (one Python run, since
/// importing TensorFlow dominates the test's time).
#[test]
fn tensorflow_reads_ours_and_we_read_theirs() {
    let Some(py) = ferroflow_oracle::python("tensorflow_reads_ours_and_we_read_theirs").unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let modes = [(Compression::None, ""), (Compression::Gzip, "GZIP"), (Compression::Zlib, "ZLIB")];
    for (compression, tf_name) in modes {
        let ours = dir.path().join(format!("ours{tf_name}.tfrecord"));
        let mut writer =
            RecordWriter::with_compression(BufWriter::new(File::create(&ours).unwrap()), compression);
        for p in PAYLOADS {
            writer.write_record(p).unwrap();
        }
        writer.into_inner().unwrap();
    }
    let script = format!(
        r#"
import os, sys, tensorflow as tf
d = sys.argv[1]
for ctype in ["", "GZIP", "ZLIB"]:
    ours = os.path.join(d, "ours%s.tfrecord" % ctype)
    got = [bytes(x.numpy()).hex() for x in tf.data.TFRecordDataset(ours, compression_type=ctype)]
    print(ctype or "NONE", ",".join(got))
    theirs = os.path.join(d, "theirs%s.tfrecord" % ctype)
    with tf.io.TFRecordWriter(theirs, options=tf.io.TFRecordOptions(compression_type=ctype)) as w:
        for p in {payloads:?}:
            w.write(bytes.fromhex(p))
"#,
        payloads = PAYLOADS.iter().map(|p| hex(p)).collect::<Vec<_>>()
    );
    let out = ferroflow_oracle::run(&py, &["-c", &script, dir.path().to_str().unwrap()]).unwrap();
    let want: Vec<String> = PAYLOADS.iter().map(|p| hex(p)).collect();
    for (compression, tf_name) in modes {
        let label = if tf_name.is_empty() { "NONE" } else { tf_name };
        let line =
            out.lines().find(|l| l.split(' ').next() == Some(label)).unwrap_or_else(|| panic!("{out}"));
        let read_by_tf: Vec<&str> = line.split(' ').nth(1).unwrap_or("").split(',').collect();
        assert_eq!(read_by_tf, want, "{label}: TF read our records");

        let theirs = dir.path().join(format!("theirs{tf_name}.tfrecord"));
        let options = ferroflow_record::RecordReaderOptions { compression, ..Default::default() };
        let back = RecordReader::open(&theirs, options)
            .unwrap()
            .collect::<ferroflow_core::Result<Vec<_>>>()
            .unwrap();
        assert_eq!(back, PAYLOADS.map(<[u8]>::to_vec), "{label}: we read TF's records");
        if compression == Compression::None {
            let ours = dir.path().join("ours.tfrecord");
            assert_eq!(
                std::fs::read(&theirs).unwrap(),
                std::fs::read(&ours).unwrap(),
                "plain bytes identical"
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
