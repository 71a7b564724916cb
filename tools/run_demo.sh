#!/usr/bin/env bash
# README command (1), the main job: install whatever is missing, pretrain on
# the embedded default data, then evaluate the learned backbone next to a
# random one (kNN and linear-probe top-1) and draw its attention picture.
#   bash tools/run_demo.sh [extra train.py args, e.g. --cfg-options ...]
#
# The console shows about ten progress lines and one final table; the whole
# training log is in $WORK_DIR/<timestamp>/<timestamp>.log, the numbers in
# $WORK_DIR/demo_report.json, the picture in $WORK_DIR/attention.png.
#
# Environment:
#   MMMGC_DEMO_CONFIG    pretraining config (default configs/mgc/mgc_demo.py;
#                        also configs/mugs/mugs_demo.py,
#                        configs/mocov3/mocov3_vit-tiny-p8_demo.py)
#   MMMGC_WORK_DIR       work dir (default work_dirs/demo/<config name>)
#   MMMGC_VENV           virtualenv (default <repo>/.venv)
#   MMMGC_SKIP_INSTALL=1 do not run tools/install.sh: use $MMMGC_VENV as it
#                        is (tests, or an environment installed otherwise)
#   MMMGC_DEMO_REPORT_ARGS  extra args of tools/analysis/demo_report.py
#                        (e.g. "--num-train 500 --num-test 200")
CONFIG="${MMMGC_DEMO_CONFIG:-configs/mgc/mgc_demo.py}"
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMMGC_VENV:-$REPO/.venv}"
cd "$REPO"
now() { echo "${EPOCHREALTIME:-$(date +%s)}"; }
t0="$(now)"
if [ "${MMMGC_SKIP_INSTALL:-0}" = 1 ]; then
    echo "[demo] MMMGC_SKIP_INSTALL=1: using $VENV as it is"
else
    bash tools/install.sh
fi
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="${MMMGC_WORK_DIR:-work_dirs/demo/$NAME}"
echo "[demo] pretraining $CONFIG (log: $WORK_DIR/<timestamp>/<timestamp>.log)"
t1="$(now)"
"$VENV/bin/python" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" \
    --progress "$@"
t2="$(now)"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
RUN_CONFIG="$WORK_DIR/$NAME.py"  # as train.py wrote it, --cfg-options in
[ -f "$RUN_CONFIG" ] || RUN_CONFIG="$CONFIG"
echo "[demo] evaluating $CKPT and a random backbone (kNN, linear probe)"
# shellcheck disable=SC2086
"$VENV/bin/python" tools/analysis/demo_report.py "$RUN_CONFIG" "$CKPT" \
    --work-dir "$WORK_DIR" --demo-start "$t0" \
    --pretrain-start "$t1" --pretrain-end "$t2" \
    ${MMMGC_DEMO_REPORT_ARGS:-}
