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

/// TF reads what we write, in every compression, and we read what TF writes.
#[test]
fn tensorflow_reads_ours_and_we_read_theirs() {
    let Some(py) = ferroflow_oracle::python("tensorflow_reads_ours_and_we_read_theirs").unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (compression, tf_name) in
        [(Compression::None, ""), (Compression::Gzip, "GZIP"), (Compression::Zlib, "ZLIB")]
    {
        let ours = dir.path().join(format!("ours{tf_name}.tfrecord"));
        let mut writer =
            RecordWriter::with_compression(BufWriter::new(File::create(&ours).unwrap()), compression);
        for p in PAYLOADS {
            writer.write_record(p).unwrap();
        }
        writer.into_inner().unwrap();

        let theirs = dir.path().join(format!("theirs{tf_name}.tfrecord"));
        let script = format!(
            r#"
import sys, tensorflow as tf
ours, theirs, ctype = sys.argv[1], sys.argv[2], sys.argv[3]
print("\n".join(bytes(x.numpy()).hex() for x in tf.data.TFRecordDataset(ours, compression_type=ctype)))
with tf.io.TFRecordWriter(theirs, options=tf.io.TFRecordOptions(compression_type=ctype)) as w:
    for p in {payloads:?}:
        w.write(bytes.fromhex(p))
"#,
            payloads = PAYLOADS.iter().map(|p| hex(p)).collect::<Vec<_>>()
        );
        let out = ferroflow_oracle::run(
            &py,
            &["-c", &script, ours.to_str().unwrap(), theirs.to_str().unwrap(), tf_name],
        )
        .unwrap();
        let read_by_tf: Vec<&str> = out.lines().collect();
        let want: Vec<String> = PAYLOADS.iter().map(|p| hex(p)).collect();
        assert_eq!(read_by_tf.len(), PAYLOADS.len(), "{tf_name}: {out:?}");
        assert_eq!(read_by_tf, want, "{tf_name}: TF read our records");

        let reader = RecordReader::open(
            &theirs,
            ferroflow_record::RecordReaderOptions { compression, ..Default::default() },
        )
        .unwrap();
        let back = reader.collect::<ferroflow_core::Result<Vec<_>>>().unwrap();
        assert_eq!(back, PAYLOADS.map(<[u8]>::to_vec), "{tf_name}: we read TF's records");
        if compression == Compression::None {
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
