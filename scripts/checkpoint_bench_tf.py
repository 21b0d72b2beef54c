#!/usr/bin/env python3
"""TensorFlow's side of scripts/checkpoint_bench.sh: tf.raw_ops.SaveV2 / RestoreV2 of the same tensors.

Usage: checkpoint_bench_tf.py DIR [TENSORS] [ELEMENTS] [REPS]. Prints one JSON object like the Rust side.
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    d = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    elements = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    k = np.arange(elements, dtype=np.int64)
    names = [f"layer_{i:03d}/kernel" for i in range(count)]
    tensors = [tf.constant((((k * 31 + i * 7) % 10007) * 0.001).astype(np.float32)) for i in range(count)]
    prefix = os.path.join(d, "tf_bench")
    save, restore = [], []
    for _ in range(reps):
        t = time.perf_counter()
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * count, tensors=tensors)
        save.append(time.perf_counter() - t)
        t = time.perf_counter()
        back = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * count,
                                    dtypes=[tf.float32] * count)
        restore.append(time.perf_counter() - t)
        assert len(back) == count and back[0].shape == (elements,)
        del back
    for f in os.listdir(d):
        if f.startswith("tf_bench"):
            os.remove(os.path.join(d, f))
    nbytes = count * elements * 4
    s, r = statistics.median(save), statistics.median(restore)
    print(json.dumps({"tool": "tensorflow", "bytes": nbytes, "save_median_s": round(s, 4),
                      "restore_median_s": round(r, 4), "save_MBps": round(nbytes / s / 1e6),
                      "restore_MBps": round(nbytes / r / 1e6), "save_runs": save, "restore_runs": restore}))


if __name__ == "__main__":
    main()
