"""Writes the golden TFRecord files of ferroflow-data's tests with the real TensorFlow.

Run by hand (CI never installs TensorFlow):
    /path/to/venv/bin/python crates/ferroflow-data/tools/make_fixtures.py crates/ferroflow-data/tests/fixtures

Files: tf_examples.tfrecord (plain) and tf_examples.tfrecord.gz (GZIP), 5 tf.train.Examples each with
x = [0.5 * i, i] (float), label = i (int64), name = b"ex<i>" (bytes).
"""
import os
import sys

import tensorflow as tf


def example(i):
    return tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[0.5 * i, float(i)])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i])),
        "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"ex%d" % i])),
    })).SerializeToString(deterministic=True)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, compression in [("tf_examples.tfrecord", None), ("tf_examples.tfrecord.gz", "GZIP")]:
        with tf.io.TFRecordWriter(os.path.join(out_dir, name), options=compression) as w:
            for i in range(5):
                w.write(example(i))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
