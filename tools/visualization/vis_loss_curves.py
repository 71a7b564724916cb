"""Loss curves per granularity (MGC) and per supervision (Mugs) from the
training log.

    python tools/visualization/vis_loss_curves.py RUN [RUN ...]
        --out OUT.png [--keys REGEX] [--smooth 5] [--panel-px 420]

RUN is a work_dir (the newest ``<timestamp>/vis_data/scalars.json`` in it
is used) or a ``scalars.json`` file itself: mmengine writes one JSON object
per logged iteration there (``{"loss": ..., "loss_c1": ..., "step": ...}``).
Every key that matches ``--keys`` (default: every key starting with
``loss``) is drawn against ``step``, one panel per RUN. MGC logs
``loss_c{c}`` (one per granularity c) and their sum ``loss``; Mugs logs one
loss per supervision (instance, local group, group) and ``loss``.
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmmgc.utils import new_figure, save_png

Series = Dict[str, Tuple[np.ndarray, np.ndarray]]


def find_scalars(run: str) -> str:
    """``run`` itself if it is a file, else the newest
    ``<run>/<timestamp>/vis_data/scalars.json``."""
    if osp.isfile(run):
        return run
    found = sorted(glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {run!r}')
    return found[-1]


def read_scalars(path: str, pattern: str = r'^loss') -> Series:
    """Series ``key -> (steps, values)`` for the keys matching ``pattern``.

    Lines without ``step`` (e.g. validation summaries) and non-numeric
    values are skipped; a malformed line raises ``ValueError`` with its
    number.
    """
    regex = re.compile(pattern)
    series: Dict[str, List[Tuple[float, float]]] = {}
    with open(path) as f:
        for num, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{num}: not JSON ({e})') from e
            if 'step' not in rec:
                continue
            for k, v in rec.items():
                if k != 'step' and regex.search(k) and isinstance(
                        v, (int, float)):
                    series.setdefault(k, []).append((rec['step'], v))
    return {
        k: (np.array([s for s, _ in v]), np.array([x for _, x in v]))
        for k, v in series.items()
    }


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (``window <= 1``:
    unchanged); the first points average what is available."""
    if window <= 1 or values.size == 0:
        return values.astype(float)
    c = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_loss_curves(runs: Sequence[Tuple[str, Series]],
                     out: str,
                     window: int = 1,
                     panel_px: int = 420) -> str:
    """One panel per ``(title, series)``; the figure is ``len(runs) *
    panel_px`` wide and ``0.75 * panel_px`` high (rounded)."""
    n = len(runs)
    if n == 0:
        raise ValueError('plot_loss_curves: nothing to plot')
    fig = new_figure(n * panel_px, int(round(0.75 * panel_px)))
    for k, (title, series) in enumerate(runs):
        ax = fig.add_axes([(k + 0.14) / n, 0.13, 0.8 / n, 0.77])
        total = [key for key in series if key == 'loss']
        for key in sorted(series, key=lambda s: (s == 'loss', s)):
            steps, vals = series[key]
            ax.plot(
                steps,
                smooth(vals, window),
                label=key,
                lw=1.8 if key in total else 1.0,
                ls='--' if key in total else '-')
        ax.set_title(title, fontsize=8)
        ax.set_xlabel('iteration', fontsize=7)
        ax.set_ylabel('loss', fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=6)
    return save_png(fig, out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('runs', nargs='+', help='work_dirs or scalars.json files')
    p.add_argument('--out', required=True)
    p.add_argument('--keys', default=r'^loss', help='regex of loss keys')
    p.add_argument('--titles', nargs='*', default=None)
    p.add_argument(
        '--smooth', type=int, default=1, help='moving-average window (points)')
    p.add_argument('--panel-px', type=int, default=420)
    return p.parse_args(argv)


def main(argv=None) -> Optional[str]:
    args = parse_args(argv)
    if args.titles and len(args.titles) != len(args.runs):
        sys.exit(f'error: {len(args.titles)} titles for {len(args.runs)} '
                 'runs')
    runs = []
    for i, run in enumerate(args.runs):
        path = find_scalars(run)
        series = read_scalars(path, args.keys)
        if not series:
            sys.exit(f'error: no key matching {args.keys!r} in {path}')
        title = args.titles[i] if args.titles else osp.basename(
            osp.normpath(run))
        runs.append((title, series))
        print(f'{path}: {sorted(series)}')
    out = plot_loss_curves(runs, args.out, args.smooth, args.panel_px)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    main()
