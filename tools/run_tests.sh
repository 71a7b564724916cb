#!/usr/bin/env bash
# README command (2): install whatever is missing, then lint (flake8, isort,
# yapf) and run the whole test suite (slow end-to-end tests included; they
# are marked `slow` so `-m "not slow"` can skip them locally).
#   bash tools/run_tests.sh [extra pytest args]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMMGC_VENV:-$REPO/.venv}"
cd "$REPO"
t0=$SECONDS
bash tools/install.sh
echo "[run_tests] install step: $((SECONDS - t0)) s"
# One pytest worker per core, one torch thread each (`nproc` must be read
# before OMP_NUM_THREADS is set: it honours that variable).
WORKERS="${PYTEST_WORKERS:-$(nproc --all)}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
# Lint and formatting (settings in setup.cfg): flake8, isort, yapf.
LINT_PATHS=(mmmgc tools tests configs setup.py)
"$VENV/bin/python" -m flake8 "${LINT_PATHS[@]}"
"$VENV/bin/python" -m isort --check-only --diff "${LINT_PATHS[@]}"
if ! "$VENV/bin/python" -m yapf --diff --recursive "${LINT_PATHS[@]}"; then
    echo "[run_tests] yapf would reformat the files above:" \
         "python -m yapf -i --recursive ${LINT_PATHS[*]}" >&2
    exit 1
fi
echo "[run_tests] flake8, isort and yapf clean"
set +e
"$VENV/bin/python" -m pytest -n "$WORKERS" --dist loadgroup tests "$@"
rc=$?
set -e
echo "[run_tests] total: $((SECONDS - t0)) s"
# pytest exit code 5 = no tests collected: that is a failure for us.
if [ "$rc" = 5 ]; then echo "[run_tests] no tests were collected" >&2; fi
exit "$rc"
