#!/usr/bin/env bash
# Images/s and peak memory of MoCo v3, MGC and Mugs at ViT-S/16 on one GPU:
# batch 64 per GPU, AMP, 20 timed steps after 5 warm-up steps; prints one
# Markdown table (a few minutes on one modern GPU). Needs only the repo and
# its install. Extra arguments go to gpu_bench.py, e.g.
#   tools/benchmarks/gpu_bench.sh --batch-size 32
#   tools/benchmarks/gpu_bench.sh --device cpu --tiny   # the smoke test
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version \
        --format=csv,noheader || true
fi
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda",
torch.version.cuda)'
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" tools/benchmarks/gpu_bench.py "$@"
