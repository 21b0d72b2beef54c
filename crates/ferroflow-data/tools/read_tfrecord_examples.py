"""Reads TFRecord files of tf.train.Examples with tf.data and prints one JSON line per example.

Used by the interop test (TF reads what ferroflow writes):
    python read_tfrecord_examples.py COMPRESSION:FILE...
(COMPRESSION is NONE, GZIP or ZLIB). Prints "== FILE" before each file's examples.
Features: x (float, [2]), label (int64, []), id (string, []).
"""
import json
import sys

import tensorflow as tf

spec = {
    "x": tf.io.FixedLenFeature([2], tf.float32),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "id": tf.io.FixedLenFeature([], tf.string),
}
for arg in sys.argv[1:]:
    compression, path = arg.split(":", 1)
    print("== " + path)
    ds = tf.data.TFRecordDataset([path], compression_type=None if compression == "NONE" else compression)
    for e in ds.map(lambda r: tf.io.parse_single_example(r, spec)):
        print(json.dumps({"x": [float(v) for v in e["x"].numpy()], "label": int(e["label"].numpy()),
                          "id": e["id"].numpy().decode()}))
