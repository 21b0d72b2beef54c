"""tf.data on the same files as `cargo bench -p ferroflow-data` (tfrecord_parse_batch128): records/s.

    /work/main/.venv/bin/python crates/ferroflow-data/benches/tf_data_bench.py [--pinned] [DIR]

DIR defaults to $FERROFLOW_BENCH_DIR or <tmp>/ferroflow-data-bench (run the Rust bench first: it
writes the files). `--pinned`: one intra-op and one inter-op thread, a private pool of one thread and
no autotune, to compare with our single-threaded reader; without it, TF's defaults.
"""
import glob
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

args = [a for a in sys.argv[1:] if a != "--pinned"]
PINNED = "--pinned" in sys.argv[1:]
if PINNED:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
d = args[0] if args else os.environ.get(
    "FERROFLOW_BENCH_DIR", os.path.join(tempfile.gettempdir(), "ferroflow-data-bench"))
files = sorted(glob.glob(os.path.join(d, "bench-*.tfrecord")))
assert files, "no bench files in " + d
spec = {"x": tf.io.FixedLenFeature([240], tf.float32), "label": tf.io.FixedLenFeature([], tf.int64)}


def options(pinned):
    o = tf.data.Options()
    if pinned:
        o.threading.private_threadpool_size = 1
        o.autotune.enabled = False
        o.experimental_optimization.map_parallelization = False
    return o


def pipelines(pinned):
    recs = tf.data.TFRecordDataset(files)
    return {
        "batch_then_parse": recs.batch(128).map(lambda r: tf.io.parse_example(r, spec)).with_options(options(pinned)),
        "parse_then_batch": recs.map(lambda r: tf.io.parse_single_example(r, spec)).batch(128).with_options(options(pinned)),
    }


def run(ds):
    n = 0
    for e in ds:
        n += int(e["label"].shape[0])
    return n


for pinned in (PINNED,):
    for name, ds in pipelines(pinned).items():
        run(ds)  # warm-up (also the page cache)
        best = None
        for _ in range(5):
            t = time.perf_counter()
            n = run(ds)
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        print("tf.data %-17s %-8s %8.0f records/s (%d records, best of 5: %.3f s)"
              % (name, "pinned" if pinned else "default", n / best, n, best))
