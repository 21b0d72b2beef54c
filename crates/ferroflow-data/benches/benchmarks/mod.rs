//! Benchmark groups, one topic per file, and the shared input files.

pub(crate) mod prefetch_step;
pub(crate) mod tfrecord_pipeline;

use ferroflow_core::{DType, Tensor};
use ferroflow_data::{FeatureSpec, FixedLenFeature};
use ferroflow_graph::GraphBuilder;
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Example, Feature};
use ferroflow_record::RecordWriter;
use ferroflow_session::DirectSession;
use std::path::PathBuf;

/// Records per file and files.
pub(crate) const RECORDS: usize = 16_384;
pub(crate) const FILES: usize = 4;
/// Floats per example: 240 floats + a label make a record of about 1 KB.
pub(crate) const FLOATS: usize = 240;

/// The directory of the bench files (`$FERROFLOW_BENCH_DIR`, else the system temp dir); the TF script
/// reads the same files.
pub(crate) fn bench_dir() -> PathBuf {
    std::env::var_os("FERROFLOW_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ferroflow-data-bench"))
}

/// Writes (once) `FILES` TFRecord files of `RECORDS` Examples each: `x` = 240 floats, `label`.
pub(crate) fn files() -> Vec<PathBuf> {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).unwrap();
    (0..FILES)
        .map(|f| {
            let path = dir.join(format!("bench-{f}.tfrecord"));
            if !path.exists() {
                let tmp = path.with_extension("tmp");
                let mut w = RecordWriter::new(std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap()));
                for i in 0..RECORDS {
                    let x: Vec<f32> = (0..FLOATS).map(|j| ((i * 31 + j) % 97) as f32 / 97.0).collect();
                    let ex = Example::new([
                        ("x".to_string(), Feature::floats(x)),
                        ("label".to_string(), Feature::int64s(vec![(i % 10) as i64])),
                    ]);
                    w.write_record(&ex.encode_to_vec()).unwrap();
                }
                w.into_inner().unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            }
            path
        })
        .collect()
}

/// The features of the bench examples.
pub(crate) fn spec() -> FeatureSpec {
    FeatureSpec::new(vec![
        ("x".into(), FixedLenFeature::new(DType::F32, &[FLOATS])),
        ("label".into(), FixedLenFeature::new(DType::I64, &[])),
    ])
    .unwrap()
}

/// A session, held while an input pipeline is measured alone: pipelines run where a session exists, and
/// a session keeps freed memory in the process (`allocator_tuning`). Without one, glibc may return each
/// freed batch's pages to the kernel and the next batch faults them back in (60 instead of 36 µs per
/// batch of 128 records), depending on what the process allocated and freed before.
pub(crate) fn session_memory_settings() -> DirectSession {
    DirectSession::new(GraphBuilder::new().finalize())
}

/// A batch like the pipeline's, for the fed baseline.
pub(crate) fn ready_batch() -> Tensor {
    Tensor::from_vec(&[128, FLOATS], (0..128 * FLOATS).map(|i| (i % 97) as f32 / 97.0).collect()).unwrap()
}
