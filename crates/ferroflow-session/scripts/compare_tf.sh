#!/usr/bin/env bash
# Side-by-side step times of the tf1_bench.py reference models, ferroflow's raw DirectSession
# (the facade's examples/bench_step.rs) against TensorFlow's raw Session, and the peak RSS of each process.
#
# The two runs alternate ROUNDS times per model and the ratio of medians is printed: on a shared 2-core
# machine the load moves by 2x within minutes, so only runs taken side by side compare.
#
# Usage: crates/ferroflow-session/scripts/compare_tf.sh [models...]   (default: tiny mlp cnn)
# Environment: FERROFLOW_PYTHON (default .venv/bin/python), ROUNDS (3), THREADS (0 = each runtime's
#              default; ours can differ from TF's with OUR_THREADS).
set -euo pipefail
cd "$(dirname "$0")/../../.."
py="${FERROFLOW_PYTHON:-.venv/bin/python}"
rounds="${ROUNDS:-3}"
threads="${THREADS:-0}"
ours_threads="${OUR_THREADS:-$threads}"
if [ "$#" -gt 0 ]; then models=("$@"); else models=(tiny mlp cnn); fi
cargo build --release -q --example bench_step -p ferroflow
bin="${CARGO_TARGET_DIR:-target}/release/examples/bench_step"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for model in "${models[@]}"; do
  case "$model" in cnn) steps=40 warmup=5 ;; *) steps=300 warmup=30 ;; esac
  for r in $(seq "$rounds"); do
    /usr/bin/time -v "$bin" --model "$model" --steps "$steps" --warmup "$warmup" --threads "$ours_threads" \
      >"$tmp/ours.$r" 2>"$tmp/ours_time.$r"
    /usr/bin/time -v "$py" ../shared/oracle/tf1_bench.py --model "$model" --mode session --steps "$steps" \
      --warmup "$warmup" --threads "$threads" 2>"$tmp/tf_time.$r" | tail -n 1 >"$tmp/tf.$r"
  done
  "$py" - "$tmp" "$rounds" "$model" <<'PY'
import json, re, statistics, sys
tmp, rounds, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1024 if m else float("nan")
ours = [json.loads(open(f"{tmp}/ours.{r}").read()) for r in range(1, rounds + 1)]
tf = [json.loads(open(f"{tmp}/tf.{r}").read()) for r in range(1, rounds + 1)]
for r, (a, b) in enumerate(zip(ours, tf), 1):
    print(f"{model:5s} round {r}: ferroflow {a['median_ms']:.4f} ms  tensorflow {b['median_ms']:.4f} ms  "
          f"ratio {a['median_ms'] / b['median_ms']:.3f}")
mo = statistics.median(a["median_ms"] for a in ours)
mt = statistics.median(b["median_ms"] for b in tf)
ro = max(rss(f"{tmp}/ours_time.{r}") for r in range(1, rounds + 1))
rt = max(rss(f"{tmp}/tf_time.{r}") for r in range(1, rounds + 1))
print(f"{model:5s} MEDIAN: ferroflow {mo:.4f} ms  tensorflow {mt:.4f} ms  ratio {mo / mt:.3f} | "
      f"peak RSS ferroflow {ro:.0f} MiB  tensorflow {rt:.0f} MiB  ratio {ro / rt:.3f} | "
      f"final loss {ours[-1]['final_loss']:.4f} vs {tf[-1]['final_loss']:.4f}")
PY
done
