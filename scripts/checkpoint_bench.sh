#!/usr/bin/env bash
# Save/restore of a 400 MB checkpoint (100 f32 tensors of 1M elements): ferroflow vs TensorFlow
# (tf.raw_ops.SaveV2/RestoreV2) vs dd sequential write/read of the same size, side by side on the same disk.
# Needs ~1.2 GB free in the bench directory; everything is deleted at the end.
#
# Usage: [ROUNDS=2] scripts/checkpoint_bench.sh [DIR] [TENSORS] [ELEMENTS] [REPS]   (DIR: a new /tmp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$(mktemp -d /tmp/checkpoint_bench.XXXXXX)}
TENSORS=${2:-100}
ELEMENTS=${3:-1048576}
REPS=${4:-5}
PY=${FERROFLOW_PYTHON:-.venv/bin/python}
mkdir -p "$DIR"
trap 'rm -rf "$DIR"/ferroflow_bench* "$DIR"/tf_bench* "$DIR"/dd_bench; rmdir "$DIR" 2>/dev/null || true' EXIT

# CHECKPOINT_BENCH_BIN: an already built examples/checkpoint_bench binary (skips the build).
BIN=${CHECKPOINT_BENCH_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release -p ferroflow-checkpoint --example checkpoint_bench >&2
  BIN=${CARGO_TARGET_DIR:-target}/release/examples/checkpoint_bench
fi

ROUNDS=${ROUNDS:-2}
MB=$(( TENSORS * ELEMENTS * 4 / 1048576 ))
dd_median() { # dd output lines -> median seconds
  awk '{for (i=1;i<=NF;i++) if ($i ~ /^s,?$/) print $(i-1)}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# Rounds alternate the tools, so that load from other processes on a shared machine hits all of them.
for round in $(seq "$ROUNDS"); do
  echo "# round $round, $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), dir $DIR ($(df -h "$DIR" | awk 'NR==2 {print $1}'))"
  "$BIN" "$DIR" "$TENSORS" "$ELEMENTS" "$REPS"
  "$PY" scripts/checkpoint_bench_tf.py "$DIR" "$TENSORS" "$ELEMENTS" "$REPS" 2> >(grep -v -e oneDNN -e absl >&2)
  for mode in conv=fsync ""; do
    m=$(for _ in $(seq "$REPS"); do dd if=/dev/zero of="$DIR/dd_bench" bs=1M count="$MB" $mode 2>&1 | tail -1; done | dd_median)
    awk -v m="$m" -v b=$((MB*1048576)) -v mode="${mode:-no fsync}" 'BEGIN {printf "{\"tool\":\"dd write (%s)\",\"median_s\":%s,\"MBps\":%.0f}\n", mode, m, b/m/1e6}'
  done
  m=$(for _ in $(seq "$REPS"); do dd if="$DIR/dd_bench" of=/dev/null bs=1M 2>&1 | tail -1; done | dd_median)
  awk -v m="$m" -v b=$((MB*1048576)) 'BEGIN {printf "{\"tool\":\"dd read (page cache)\",\"median_s\":%s,\"MBps\":%.0f}\n", m, b/m/1e6}'
  rm -f "$DIR/dd_bench"
done
