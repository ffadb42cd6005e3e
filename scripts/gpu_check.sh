#!/usr/bin/env bash
# The GPU path, checked on a machine with an NVIDIA GPU in one go (under 8 minutes):
#   1. installs the 'cuda' extra (onnxruntime-gpu with the CUDA and cuDNN wheels) and 'dev';
#   2. runs the engine's parity tests on CUDA against the CPU (every map within 1e-3);
#   3. prints the 1 MP preview, the 24 MP export (and its ratio to the Pillow decode+encode
#      floor) and the batch's photos per second, on CUDA.
# Where CUDA cannot load it says why in one sentence and measures the CPU instead; it then
# exits 3, or 0 with --allow-cpu (how CI tests this fallback).
# Usage: scripts/gpu_check.sh [--no-install] [--quick] [--allow-cpu]   (in a virtual env;
# $PYTHON, when set, is the interpreter to use)
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python}"
install=1
args=()
for a in "$@"; do
    case "$a" in
        --no-install) install=0 ;;
        --quick|--allow-cpu) args+=("$a") ;;
        *) echo "usage: scripts/gpu_check.sh [--no-install] [--quick] [--allow-cpu]" >&2; exit 2 ;;
    esac
done
if [ "$install" = 1 ]; then
    echo "== installing the cuda extra (CUDA and cuDNN wheels, about 1.5 GB)"
    "$py" -m pip install --quiet -e '.[dev,cuda]'
fi
# the benchmark package (bench/) lives at the repository root, outside the installed app
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" scripts/gpu_check.py "${args[@]}"
