#!/usr/bin/env bash
# README command (1), the main job: install whatever is missing, pretrain on
# the embedded default data (Fashion-MNIST scenes, generated offline), then
# evaluate the learned backbone by kNN top-1 next to a random backbone.
#   bash tools/run_demo.sh [extra train.py args, e.g. --cfg-options ...]
CONFIG="${MMMGC_DEMO_CONFIG:-configs/mgc/mgc_demo.py}"
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMMGC_VENV:-$REPO/.venv}"
cd "$REPO"
t0=$SECONDS
bash tools/install.sh
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="${MMMGC_WORK_DIR:-work_dirs/demo/$NAME}"
echo "[demo] pretraining $CONFIG -> $WORK_DIR"
t1=$SECONDS
"$VENV/bin/python" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
echo "[demo] pretraining took $((SECONDS - t1)) s"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
"$VENV/bin/python" tools/analysis/knn.py items "$CONFIG" "$CKPT" \
    --compare-random --out "$WORK_DIR/knn.json"
echo "[demo] total $((SECONDS - t0)) s; metrics in $WORK_DIR/knn.json"
