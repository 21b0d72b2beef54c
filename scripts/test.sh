#!/usr/bin/env bash
# Runs every test of the workspace. Installs the Python oracles (TensorFlow, TensorBoard) into .venv first,
# because interop tests check our files with the real packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import tensorflow, tensorboard' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet tensorflow-cpu==2.21.0 tensorboard==2.21.0
fi
export FERROFLOW_PYTHON="$PWD/.venv/bin/python"
# Unit, integration and doc tests; benches are type-checked by clippy --all-targets in CI and run by hand.
cargo test --workspace
