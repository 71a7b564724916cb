"""Measurements that ``tools/benchmarks/step_time.py`` adds to its step
times: peak memory of a train step, and ``correspondence_targets`` against
a straightforward per-cell Python reference on the same boxes.

Peak memory on the CPU is the peak resident set size (RSS) ABOVE the RSS
just before the measured steps: Linux's high-water mark ``VmHWM`` is reset
by writing ``5`` to ``/proc/self/clear_refs`` before the steps and read
from ``/proc/self/status`` after them. (``tracemalloc`` cannot be used: it
only sees Python's own allocator, not torch's tensor memory.) Where the
reset is not allowed, ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` deltas
are used instead, which only show growth beyond the process's earlier peak
(the report says which). On a GPU: ``torch.cuda.max_memory_allocated``
after ``torch.cuda.reset_peak_memory_stats``.

    python tools/benchmarks/step_time_extras.py [--batch 64] [--iters 20]

runs the correspondence-target comparison alone;
``--memory-of CONFIG`` prints the peak memory of CONFIG's first train
steps (as JSON; see :func:`step_memory`).
"""
import argparse
import os.path as osp
import re
import resource
import statistics
import sys
import time
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _status_kb(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            m = re.search(key + r':\s+(\d+)\s+kB', f.read())
    except OSError:
        return None
    return int(m.group(1)) if m else None


class PeakMemory:
    """Context manager: peak memory (MiB) of the enclosed code above the
    memory in use when it starts; see the module docstring.

    Attributes:
        peak_mib (float): The measured peak increase.
        method (str): ``'VmHWM reset'``, ``'ru_maxrss delta'`` or
            ``'cuda max_memory_allocated'``.
    """

    def __init__(self, device: str = 'cpu') -> None:
        self.device = torch.device(device)
        self.peak_mib = float('nan')
        self.method = ''

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            self.method = 'cuda max_memory_allocated'
            return self
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self._start = _status_kb('VmRSS')
            self.method = 'VmHWM reset' if self._start is not None else ''
        except OSError:
            self.method = ''
        if not self.method:
            self._start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.method = 'ru_maxrss delta'
        return self

    def __exit__(self, *exc) -> None:
        if self.method.startswith('cuda'):
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.peak_mib = (peak - self._start) / 2**20
        elif self.method == 'VmHWM reset':
            self.peak_mib = (_status_kb('VmHWM') - self._start) / 1024
        else:  # ru_maxrss is in kB on Linux
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.peak_mib = (peak - self._start) / 1024


def _build_for_memory(cfg_path: str, batch_size: Optional[int],
                      device: str):
    """Model, optimiser wrapper and one collated batch of a config."""
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS
    MMLogger.get_instance('mmengine', log_level='ERROR')
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 1000)
    cfg = Config.fromfile(cfg_path)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        bs = batch_size or cfg.train_dataloader.batch_size
        ds = DATASETS.build(cfg.train_dataloader.dataset)
        batch = default_collate([ds[i] for i in range(bs)])
        model = MODELS.build(cfg.model).to(device)
        model.init_weights()
        model.train()
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, ow, batch


def step_memory(cfg_path: str, batch_size: Optional[int] = None,
                steps: int = 2, device: str = 'cpu') -> Dict[str, float]:
    """Peak memory of the first ``steps`` train steps of a config (they
    include the optimiser's lazily created state), above the memory in use
    once the model and one batch are built. Run it in a fresh process with
    ``MALLOC_MMAP_THRESHOLD_`` fixed (:func:`step_memory_subprocess`):
    glibc otherwise keeps freed tensor memory in its heap, and a second
    measurement in the same process sees none of it."""
    import copy
    sys.path.insert(0, REPO)
    import mmmgc  # noqa: F401
    model, ow, batch = _build_for_memory(cfg_path, batch_size, device)
    with PeakMemory(device) as meter:
        for _ in range(steps):
            model.train_step(copy.copy(batch), ow)
    return dict(peak_mib=meter.peak_mib, method=meter.method,
                batch=len(batch['data_samples']))


def step_memory_subprocess(cfg_path: str,
                           batch_size: Optional[int] = None,
                           steps: int = 2,
                           device: str = 'cpu',
                           threads: int = 1) -> Dict[str, float]:
    """:func:`step_memory` in a fresh Python process (see there)."""
    import json
    import os
    import subprocess
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536',
               OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, osp.abspath(__file__), '--memory-of', cfg_path,
           '--steps', str(steps), '--device', device]
    if batch_size:
        cmd += ['--batch-size', str(batch_size)]
    out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True,
                         text=True)
    lines = [x for x in out.stdout.splitlines() if x.startswith('{')]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f'step_memory of {cfg_path} failed:\n'
                           f'{out.stderr[-2000:]}')
    return json.loads(lines[-1])


def reference_targets(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                      flips2: Tensor, grid_size: int,
                      granularity: int) -> Tensor:
    """MGC Eq. 2, one cell pair at a time in plain Python (the reference).

    For every image, every cell ``i`` of view 1 and every cell ``j`` of
    view 2: the original-image rectangle of each cell (columns mirrored in
    a flipped view), the area of their intersection, then each row divided
    by its sum (all-zero rows stay zero). Same arguments and result as
    :func:`mmmgc.models.utils.correspondence_targets`.
    """
    g = grid_size // granularity
    b = boxes1.shape[0]
    out = torch.zeros(b, g * g, g * g, dtype=torch.float64)

    def rect(box, flip, cell):
        x, y, w, h = box
        row, col = divmod(cell, g)
        if flip:
            col = g - 1 - col
        return (x + col * w / g, y + row * h / g, x + (col + 1) * w / g,
                y + (row + 1) * h / g)

    for n in range(b):
        box1 = [float(v) for v in boxes1[n]]
        box2 = [float(v) for v in boxes2[n]]
        f1, f2 = bool(flips1[n]), bool(flips2[n])
        rects2 = [rect(box2, f2, j) for j in range(g * g)]
        for i in range(g * g):
            a0, a1, a2, a3 = rect(box1, f1, i)
            row = []
            for b0, b1, b2, b3 in rects2:
                iw = min(a2, b2) - max(a0, b0)
                ih = min(a3, b3) - max(a1, b1)
                row.append(iw * ih if iw > 0 and ih > 0 else 0.0)
            total = sum(row)
            if total > 0:
                out[n, i] = torch.tensor(row, dtype=torch.float64) / total
    return out.float()


def random_view_boxes(batch: int, size: int = 224, seed: int = 0):
    """Two random resized crops (MGC's transform rule) and flips per
    image, as float tensors ``(B, 4)`` and bool ``(B,)``."""
    import numpy as np
    sys.path.insert(0, REPO)
    from mmmgc.datasets.transforms.mgc_two_view_crop import sample_crop_box
    np.random.seed(seed)
    boxes = [[sample_crop_box(size, size, (0.08, 1.0), (3 / 4, 4 / 3))
              for _ in range(2)] for _ in range(batch)]
    boxes = torch.tensor(boxes, dtype=torch.float32)
    flips = torch.from_numpy(np.random.rand(batch, 2) < 0.5)
    return boxes[:, 0], flips[:, 0], boxes[:, 1], flips[:, 1]


def compare_targets(batch: int = 64,
                    settings: Sequence = ((8, (1, 2, 4)), (14, (1, 2, 7))),
                    iters: int = 20,
                    ref_images: Optional[int] = None,
                    seed: int = 0) -> Dict[str, Dict[str, float]]:
    """Time the batched ``correspondence_targets`` against
    :func:`reference_targets` on the same boxes.

    Args:
        batch (int): Images per call. Defaults to 64.
        settings (Sequence): ``(grid_size, granularities)`` pairs; the
            defaults are the demo's 8 x 8 grid and the paper's 14 x 14.
        iters (int): Timed calls of the batched function (median taken).
        ref_images (int, optional): Run the (slow) reference on the first
            ``ref_images`` images only and scale its time to ``batch``.
            Defaults to all.
        seed (int): Box seed.

    Returns:
        dict: Per ``'g{grid}_c{c}'``: ``batched_ms``, ``reference_ms``
        (for the whole batch), ``speedup`` and ``max_abs_diff``.
    """
    sys.path.insert(0, REPO)
    from mmmgc.models.utils import correspondence_targets
    b1, f1, b2, f2 = random_view_boxes(batch, seed=seed)
    n_ref = min(batch, ref_images or batch)
    out = {}
    for grid, grans in settings:
        for c in grans:
            times = []
            for _ in range(iters):
                t0 = time.perf_counter()
                w = correspondence_targets(b1, f1, b2, f2, grid, c)
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ref = reference_targets(b1[:n_ref], f1[:n_ref], b2[:n_ref],
                                    f2[:n_ref], grid, c)
            t_ref = (time.perf_counter() - t0) * batch / n_ref
            med = statistics.median(times)
            out[f'g{grid}_c{c}'] = dict(
                batched_ms=1e3 * med,
                reference_ms=1e3 * t_ref,
                speedup=t_ref / med,
                max_abs_diff=(w[:n_ref] - ref).abs().max().item())
    return out


def print_targets_report(res: Dict[str, Dict[str, float]],
                         batch: int) -> None:
    print(f'correspondence_targets vs per-cell Python reference '
          f'(batch {batch}, same boxes):')
    for key, r in res.items():
        print(f'  {key:8s} batched {r["batched_ms"]:8.3f} ms  reference '
              f'{r["reference_ms"]:9.1f} ms  speed-up {r["speedup"]:8.0f}x'
              f'  max |diff| {r["max_abs_diff"]:.1e}')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--ref-images', type=int, default=None)
    p.add_argument('--memory-of', default=None, metavar='CONFIG',
                   help='print the step memory of CONFIG as JSON instead')
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--device', default='cpu')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_of:
        import json
        print(json.dumps(step_memory(args.memory_of, args.batch_size,
                                     args.steps, args.device)))
        return
    res = compare_targets(args.batch, iters=args.iters,
                          ref_images=args.ref_images)
    print_targets_report(res, args.batch)


if __name__ == '__main__':
    main()
