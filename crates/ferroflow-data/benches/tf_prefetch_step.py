"""TensorFlow's side of `step_batch128` (benches/benchmarks/prefetch_step.rs): µs per step.

    /work/main/.venv/bin/python crates/ferroflow-data/benches/tf_prefetch_step.py [--intra1] [DIR]

The same steps as the Rust bench, built as TF1 graphs and run with a `tf.compat.v1.Session`:
- `prefetched_pipeline`: a one-shot iterator over TFRecord -> repeat -> batch(128) -> parse_example ->
  prefetch(4), its `get_next` feeding the step;
- `fed_rotating_tensors`: the same step fed ready numpy batches through placeholders, a different one
  each step;
- `train_` variants: dense 240->256 + ReLU -> 10, sparse softmax cross-entropy, one gradient-descent
  update.
`--intra1`: one intra-op and one inter-op thread for the session's kernels (tf.data keeps its own
threads), as the Rust bench's `_intra1` variants. DIR as for tf_data_bench.py.
"""
import glob
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
tf1.disable_eager_execution()

args = [a for a in sys.argv[1:] if a != "--intra1"]
INTRA1 = "--intra1" in sys.argv[1:]
d = args[0] if args else os.environ.get(
    "FERROFLOW_BENCH_DIR", os.path.join(tempfile.gettempdir(), "ferroflow-data-bench"))
files = sorted(glob.glob(os.path.join(d, "bench-*.tfrecord")))
assert files, "no bench files in " + d
FLOATS = 240
spec = {"x": tf.io.FixedLenFeature([FLOATS], tf.float32), "label": tf.io.FixedLenFeature([], tf.int64)}
STEPS, ROUNDS, WARMUP = 2000, 5, 300


def config():
    if INTRA1:
        return tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return tf1.ConfigProto()


def forward(x, labels):
    del labels
    w = tf.constant(np.full((FLOATS, 256), 0.01, np.float32))
    return tf.reduce_sum(tf.matmul(x, w))


def train(x, labels):
    tf1.set_random_seed(0)
    init = tf1.random_normal_initializer(stddev=0.05)
    w1 = tf1.get_variable("w1", [FLOATS, 256], initializer=init)
    b1 = tf1.get_variable("b1", [256], initializer=tf1.zeros_initializer())
    w2 = tf1.get_variable("w2", [256, 10], initializer=init)
    b2 = tf1.get_variable("b2", [10], initializer=tf1.zeros_initializer())
    h = tf.nn.relu(tf.matmul(x, w1) + b1)
    logits = tf.matmul(h, w2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return [tf1.train.GradientDescentOptimizer(0.01).minimize(loss), loss]


def pipeline():
    ds = (tf.data.TFRecordDataset(files).repeat().batch(128, drop_remainder=True)
          .map(lambda r: tf.io.parse_example(r, spec)).prefetch(4))
    e = tf1.data.make_one_shot_iterator(ds).get_next()
    return e["x"], e["label"]


def time_steps(sess, fetch, feeds):
    for i in range(WARMUP):
        sess.run(fetch, feeds(i))
    rounds = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        for i in range(STEPS):
            sess.run(fetch, feeds(i))
        rounds.append((time.perf_counter() - t) / STEPS * 1e6)
    return statistics.median(rounds), min(rounds), max(rounds)


def bench(name, model, fed):
    with tf.Graph().as_default():
        if fed:
            x = tf1.placeholder(tf.float32, [128, FLOATS])
            labels = tf1.placeholder(tf.int64, [128])
            rng = np.random.default_rng(0)
            batches = [rng.random((128, FLOATS), dtype=np.float32) for _ in range(64)]
            label_batch = np.arange(128, dtype=np.int64) % 10

            def feeds(i):
                return {x: batches[i % len(batches)], labels: label_batch}
        else:
            x, labels = pipeline()

            def feeds(i):
                return None
        fetch = model(x, labels)
        with tf1.Session(config=config()) as sess:
            sess.run(tf1.global_variables_initializer())
            med, lo, hi = time_steps(sess, fetch, feeds)
    suffix = "_intra1" if INTRA1 else ""
    print("tf %-36s median %7.1f us/step (rounds %.1f-%.1f)" % (name + suffix, med, lo, hi), flush=True)


for name, model in (("", forward), ("train_", train)):
    bench(name + "prefetched_pipeline", model, fed=False)
    bench(name + "fed_rotating_tensors", model, fed=True)
