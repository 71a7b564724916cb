"""The per-cell Python reference of MGC Eq. 2 agrees with the batched
correspondence targets on random-resized-crop boxes, and the peak-memory
meter sees a known allocation.

Run as a module, it prints the speed-up table of docs/benchmarks.md
(batched function against the reference, same boxes):

    python -m tests.test_tools.test_step_time_extras [--batch 64]
        [--iters 20] [--threads 1] [--ref-images N]
"""
import argparse
import statistics
import subprocess
import sys
import time
from typing import Dict, Optional, Sequence

import numpy as np
import pytest
import torch

from tests._utils import REPO_ROOT
from tests._utils.mgc_reference import brute_force_targets


def correspondence_targets(*args):
    """The batched Eq. 2 of mmmgc (imported on use: its module is
    :mod:`mmmgc.models.utils`)."""
    from mmmgc.models.utils import correspondence_targets as batched
    return batched(*args)


def reference_targets(boxes1, flips1, boxes2, flips2, grid_size: int,
                      granularity: int) -> torch.Tensor:
    """:func:`brute_force_targets` (float64 loops) as a float32 tensor, the
    dtype of the batched function."""
    return torch.from_numpy(
        brute_force_targets(boxes1, flips1, boxes2, flips2, grid_size,
                            granularity)).float()


def random_view_boxes(batch: int, size: int = 224, seed: int = 0):
    """Two random resized crops (MGC's transform rule) and flips per
    image, as float tensors ``(B, 4)`` and bool ``(B,)``."""
    from mmmgc.datasets.transforms.mgc_two_view_crop import sample_crop_box
    np.random.seed(seed)
    boxes = [[
        sample_crop_box(size, size, (0.08, 1.0), (3 / 4, 4 / 3))
        for _ in range(2)
    ] for _ in range(batch)]
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


def test_reference_targets_match_the_batched_function():
    b1, f1, b2, f2 = random_view_boxes(6, size=64, seed=3)
    for c in (1, 2, 4):
        ref = reference_targets(b1, f1, b2, f2, 8, c)
        fast = correspondence_targets(b1, f1, b2, f2, 8, c)
        assert ref.shape == fast.shape == (6, (8 // c)**2, (8 // c)**2)
        assert torch.allclose(ref, fast, atol=1e-6)
    # a hand-made case: view 2 is the right half of view 1, unflipped
    boxes1 = torch.tensor([[0., 0., 32., 32.]])
    boxes2 = torch.tensor([[16., 0., 16., 32.]])
    no = torch.tensor([False])
    ref = reference_targets(boxes1, no, boxes2, no, 2, 1)
    # view-1 cell 1 (top right) covers view-2 cells 0 and 1 equally
    assert torch.allclose(ref[0, 1], torch.tensor([.5, .5, 0., 0.]))
    assert ref[0, 0].sum() == 0  # top-left cell: no overlap


def test_compare_targets_reports_every_setting():
    res = compare_targets(batch=2, settings=((4, (1, 2)), ), iters=1)
    assert sorted(res) == ['g4_c1', 'g4_c2']
    for r in res.values():
        assert r['max_abs_diff'] < 1e-6 and r['reference_ms'] > 0


def test_peak_memory_sees_an_allocation():
    """In a fresh process: in a long-lived test worker, memory that earlier
    tests freed may still be resident and be reused by the allocation,
    which then does not raise the high-water mark."""
    code = ('import torch\n'
            'from mmmgc.utils.peak_memory import PeakMemory\n'
            "with PeakMemory('cpu') as meter:\n"
            '    x = torch.ones(16 * 2**20)  # 64 MiB, touched\n'
            '    del x\n'
            'print(meter.method, meter.peak_mib)\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         cwd=REPO_ROOT,
                         check=True).stdout.split('\n')[-2]
    method, peak = out.rsplit(' ', 1)
    if method != 'VmHWM reset':
        pytest.skip('peak RSS cannot be reset here (ru_maxrss fallback)')
    assert 48 < float(peak) < 200


def main(argv=None) -> Dict[str, Dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--ref-images', type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    res = compare_targets(
        args.batch, iters=args.iters, ref_images=args.ref_images)
    print(f'correspondence_targets vs per-cell Python reference '
          f'(batch {args.batch}, same boxes):')
    for key, r in res.items():
        print(f'  {key:8s} batched {r["batched_ms"]:8.3f} ms  reference '
              f'{r["reference_ms"]:9.1f} ms  speed-up {r["speedup"]:8.0f}x'
              f'  max |diff| {r["max_abs_diff"]:.1e}')
    return res


if __name__ == '__main__':
    main()
