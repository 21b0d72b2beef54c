#!/usr/bin/env bash
# Runs ferroflow's and TensorFlow's reference training steps side by side and prints the ratios
# (ferroflow median / TensorFlow median). Usage: scripts/compare_tf.sh [models...] (default: tiny mlp)
set -euo pipefail
cd "$(dirname "$0")/.."
py="${FERROFLOW_PYTHON:-.venv/bin/python}"
models=("${@:-tiny mlp}")
cargo build --release -q -p ferroflow --example bench_step
for model in ${models[@]}; do
  ours=$(./target/release/examples/bench_step --model "$model" --steps 300 --warmup 30)
  theirs=$("$py" ../shared/oracle/tf1_bench.py --model "$model" --mode session --steps 300 --warmup 30 | tail -n 1)
  "$py" - "$ours" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{a['model']:5s} ferroflow median {a['median_ms']:.4f} ms  tensorflow median {b['median_ms']:.4f} ms  ratio {a['median_ms'] / b['median_ms']:.3f}")
PY
done
