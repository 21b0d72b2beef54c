#!/usr/bin/env bash
# Save/restore of a 400 MB checkpoint (100 f32 tensors of 1M elements): ferroflow vs TensorFlow
# (tf.raw_ops.SaveV2/RestoreV2) vs dd sequential write/read of the same size, side by side on the same disk.
# Needs ~1.2 GB free in the bench directory; everything is deleted at the end.
#
# Usage: scripts/checkpoint_bench.sh [DIR] [TENSORS] [ELEMENTS] [REPS]   (DIR defaults to a new /tmp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-$(mktemp -d /tmp/checkpoint_bench.XXXXXX)}
TENSORS=${2:-100}
ELEMENTS=${3:-1048576}
REPS=${4:-5}
PY=${FERROFLOW_PYTHON:-.venv/bin/python}
mkdir -p "$DIR"
trap 'rm -rf "$DIR"/ferroflow_bench* "$DIR"/tf_bench* "$DIR"/dd_bench; rmdir "$DIR" 2>/dev/null || true' EXIT

cargo build --release -p ferroflow-checkpoint --example checkpoint_bench >&2
BIN=${CARGO_TARGET_DIR:-target}/release/examples/checkpoint_bench

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), dir $DIR ($(df -h "$DIR" | awk 'NR==2 {print $1}'))"
"$BIN" "$DIR" "$TENSORS" "$ELEMENTS" "$REPS"
"$PY" scripts/checkpoint_bench_tf.py "$DIR" "$TENSORS" "$ELEMENTS" "$REPS"

MB=$(( TENSORS * ELEMENTS * 4 / 1048576 ))
for mode in "conv=fsync" ""; do
  for _ in $(seq "$REPS"); do
    dd if=/dev/zero of="$DIR/dd_bench" bs=1M count="$MB" $mode 2>&1 | tail -1
  done | awk -v mode="${mode:-no fsync}" '{for (i=1;i<=NF;i++) if ($i ~ /^s,?$/) print $(i-1)}' \
       | sort -n | awk -v mode="${mode:-no fsync}" -v b=$((MB*1048576)) '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "{\"tool\":\"dd write (%s)\",\"median_s\":%s,\"MBps\":%.0f}\n", mode, m, b/m/1e6}'
done
for _ in $(seq "$REPS"); do
  dd if="$DIR/dd_bench" of=/dev/null bs=1M 2>&1 | tail -1
done | awk '{for (i=1;i<=NF;i++) if ($i ~ /^s,?$/) print $(i-1)}' | sort -n \
     | awk -v b=$((MB*1048576)) '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "{\"tool\":\"dd read (page cache)\",\"median_s\":%s,\"MBps\":%.0f}\n", m, b/m/1e6}'
