"""The per-cell Python reference of the step-time benchmark agrees with the
batched correspondence targets, and the peak-memory meter sees a known
allocation."""
import importlib.util
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT

from mmmgc.models.utils import correspondence_targets


def _load():
    path = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'step_time_extras.py')
    spec = importlib.util.spec_from_file_location('step_time_extras', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reference_targets_match_the_batched_function():
    ste = _load()
    b1, f1, b2, f2 = ste.random_view_boxes(6, size=64, seed=3)
    for c in (1, 2, 4):
        ref = ste.reference_targets(b1, f1, b2, f2, 8, c)
        fast = correspondence_targets(b1, f1, b2, f2, 8, c)
        assert ref.shape == fast.shape == (6, (8 // c)**2, (8 // c)**2)
        assert torch.allclose(ref, fast, atol=1e-6)
    # a hand-made case: view 2 is the right half of view 1, unflipped
    boxes1 = torch.tensor([[0., 0., 32., 32.]])
    boxes2 = torch.tensor([[16., 0., 16., 32.]])
    no = torch.tensor([False])
    ref = ste.reference_targets(boxes1, no, boxes2, no, 2, 1)
    # view-1 cell 1 (top right) covers view-2 cells 0 and 1 equally
    assert torch.allclose(ref[0, 1], torch.tensor([.5, .5, 0., 0.]))
    assert ref[0, 0].sum() == 0  # top-left cell: no overlap


def test_compare_targets_reports_every_setting():
    ste = _load()
    res = ste.compare_targets(batch=2, settings=((4, (1, 2)), ), iters=1)
    assert sorted(res) == ['g4_c1', 'g4_c2']
    for r in res.values():
        assert r['max_abs_diff'] < 1e-6 and r['reference_ms'] > 0


def test_peak_memory_sees_an_allocation():
    ste = _load()
    with ste.PeakMemory('cpu') as meter:
        x = torch.ones(16 * 2**20)  # 64 MiB, touched
        del x
    if meter.method != 'VmHWM reset':
        pytest.skip('peak RSS cannot be reset here (ru_maxrss fallback)')
    assert 48 < meter.peak_mib < 200
