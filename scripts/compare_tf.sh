#!/usr/bin/env bash
# Runs ferroflow's and TensorFlow's reference training steps (../shared/oracle/tf1_bench.py) side by side,
# in one run on one machine, for each model and mode, and prints the ratios (ferroflow / TensorFlow;
# below 1 means ferroflow is faster).
#
# Usage: scripts/compare_tf.sh [models...]        (default: tiny mlp cnn)
# Environment: FERROFLOW_PYTHON (default .venv/bin/python, see scripts/test.sh), STEPS (300), WARMUP (30),
#              THREADS (0: each runtime's default),
#              MODES (default: "session monitored monitored-nockpt monitored-nohooks").
set -euo pipefail
cd "$(dirname "$0")/.."
py="${FERROFLOW_PYTHON:-.venv/bin/python}"
steps="${STEPS:-300}"
warmup="${WARMUP:-30}"
threads="${THREADS:-0}"
read -r -a modes <<< "${MODES:-session monitored monitored-nockpt monitored-nohooks}"
if [ "$#" -gt 0 ]; then models=("$@"); else models=(tiny mlp cnn); fi
cargo build --release -q -p ferroflow-cli
target_dir="${CARGO_TARGET_DIR:-target}"
ferroflow="$target_dir/release/ferroflow"
# TensorFlow's start-up chatter goes here, shown only when it fails.
tf_log=$(mktemp)
trap 'rm -f "$tf_log"' EXIT
for model in "${models[@]}"; do
  for mode in "${modes[@]}"; do
    common=(--model "$model" --mode "$mode" --steps "$steps" --warmup "$warmup" --threads "$threads")
    ours=$("$ferroflow" bench "${common[@]}")
    theirs=$("$py" ../shared/oracle/tf1_bench.py "${common[@]}" 2>"$tf_log" | tail -n 1) || {
      cat "$tf_log" >&2
      exit 1
    }
    "$py" - "$ours" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ratio = lambda k: a[k] / b[k] if b[k] else float("nan")
print(f"{a['model']:5s} {a['mode']:17s} batch {a['batch']:3d} | "
      f"median ferroflow {a['median_ms']:.4f} ms  tensorflow {b['median_ms']:.4f} ms  ratio {ratio('median_ms'):.3f} | "
      f"p95 ratio {ratio('p95_ms'):.3f} | mean ratio {ratio('mean_ms'):.3f} | "
      f"final loss {a['final_loss']:.4f} vs {b['final_loss']:.4f}")
PY
  done
done
