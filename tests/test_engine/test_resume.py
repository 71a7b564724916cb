"""Resume: a run interrupted after k iterations and resumed
with ``tools/train.py --resume`` ends bit-exactly where the uninterrupted
run ends: parameters, EMA teacher, queues/centre (buffers), optimiser,
schedulers, RNG states, and the augmented batches and losses it saw.

The pitfalls are exercised, not avoided: the IterBased run is resumed
across an epoch boundary (mmengine replays the skipped batches); the Mugs
run uses persistent dataloader workers (as its demo config does) and
resumes at an epoch boundary; a control run without ``RNGStateHook`` shows
that the hook is what makes MGC's random query sampling continue exactly.
"""
import os.path as osp

import numpy as np
import pytest
import torch

from mmmgc.datasets import (PerSampleSeededDataset, PerSampleSeededSampler,
                            per_sample_seed)
from mmmgc.engine.hooks import get_rng_state, set_rng_state
from tests._utils import scaleout as u

pytestmark = pytest.mark.xdist_group('scaleout_resume')

COMPARED = ('state_dict', 'optimizer', 'param_schedulers', 'rng_states')


def _assert_same_end(ckpt_a: str, ckpt_b: str) -> dict:
    a, b = u.load_ckpt(ckpt_a), u.load_ckpt(ckpt_b)
    for key in COMPARED:
        assert key in a, f'{key} missing from {ckpt_a}'
        u.assert_state_equal(a[key], b[key], key)
    assert a['meta']['iter'] == b['meta']['iter']
    return a


@pytest.mark.slow
def test_mgc_iter_based_resume_across_epoch_boundary_is_bit_exact(tmp_path):
    # 8 samples, batch 4: 2 iterations per epoch. Interrupt after 3, so the
    # resume replays a whole epoch plus one batch before training iter 4.
    cfg = u.tiny_cfg('mgc', max_iters=4, ckpt_interval=3)
    cfg_path = u.dump_cfg(cfg, str(tmp_path / 'mgc_iter.py'))
    full, resumed = str(tmp_path / 'full'), str(tmp_path / 'resumed')
    u.train(cfg_path, full)
    out = u.train(cfg_path, resumed, '--resume', osp.join(full, 'iter_3.pth'))
    assert 'Advance dataloader 3 steps' in out
    ckpt = _assert_same_end(
        osp.join(full, 'iter_4.pth'), osp.join(resumed, 'iter_4.pth'))
    sd = ckpt['state_dict']
    assert any(k.startswith('teacher.') for k in sd)
    assert any('running_mean' in k for k in sd)
    rec_full, rec_res = u.read_records(full), u.read_records(resumed)
    assert sorted(rec_res) == [4]
    assert rec_res[4] == rec_full[4]  # same batch, geometry, exact losses

    # A checkpoint that names the teacher ``momentum_encoder`` (written
    # before the rename) resumes to the same end.
    legacy_ckpt = u.load_ckpt(osp.join(full, 'iter_3.pth'))
    legacy_ckpt['state_dict'] = {
        _legacy_name(k): v
        for k, v in legacy_ckpt['state_dict'].items()
    }
    torch.save(legacy_ckpt, str(tmp_path / 'iter_3_legacy.pth'))
    legacy = str(tmp_path / 'legacy')
    u.train(cfg_path, legacy, '--resume', str(tmp_path / 'iter_3_legacy.pth'))
    _assert_same_end(
        osp.join(full, 'iter_4.pth'), osp.join(legacy, 'iter_4.pth'))

    # Control: without RNGStateHook the data stream is still the same
    # (per-sample seeds) but MGC's query sampling draws from a re-seeded
    # torch generator, so the trajectory leaves the uninterrupted one.
    cfg = u.tiny_cfg('mgc', max_iters=4, ckpt_interval=3, rng_hook=False)
    cfg_path = u.dump_cfg(cfg, str(tmp_path / 'mgc_iter_nohook.py'))
    control = str(tmp_path / 'control')
    u.train(cfg_path, control, '--resume', osp.join(full, 'iter_3.pth'))
    rec_ctl = u.read_records(control)[4]
    assert rec_ctl['inputs'] == rec_full[4]['inputs']
    assert rec_ctl['losses'] != rec_full[4]['losses']


@pytest.mark.slow
def test_mugs_epoch_based_resume_with_persistent_workers_is_bit_exact(
        tmp_path):
    pytest.importorskip('mmmgc.models.selfsup.mugs')
    cfg = u.tiny_cfg(
        'mugs',
        max_epochs=2,
        ckpt_interval=1,
        by_epoch=True,
        num_workers=1,
        persistent_workers=True)
    cfg_path = u.dump_cfg(cfg, str(tmp_path / 'mugs_epoch.py'))
    full, resumed = str(tmp_path / 'full'), str(tmp_path / 'resumed')
    u.train(cfg_path, full)
    u.train(cfg_path, resumed, '--resume', osp.join(full, 'epoch_1.pth'))
    ckpt = _assert_same_end(
        osp.join(full, 'epoch_2.pth'), osp.join(resumed, 'epoch_2.pth'))
    sd = ckpt['state_dict']
    queues = [k for k in sd if k.endswith('.queue')]
    assert queues, 'no queue buffers in the Mugs checkpoint'
    rec_full, rec_res = u.read_records(full), u.read_records(resumed)
    assert sorted(rec_res) == [3, 4]
    assert all(rec_res[i] == rec_full[i] for i in (3, 4))


# ------------------------------------------------------------ fast tests
class _Noisy(torch.utils.data.Dataset):
    """Returns draws of all three global generators."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        import random
        return (i, random.random(), float(np.random.rand()),
                float(torch.rand(())))


def test_per_sample_seeds_are_independent_of_order_and_leave_rng_alone():
    ds = PerSampleSeededDataset(_Noisy())
    before = get_rng_state()
    a = [ds[(i, per_sample_seed(0, 1, i))] for i in range(6)]
    b = [ds[(i, per_sample_seed(0, 1, i))] for i in reversed(range(6))]
    assert a == b[::-1]
    u.assert_state_equal(before, get_rng_state(), 'global rng')
    # another epoch gives other draws, other samples other draws
    c = ds[(0, per_sample_seed(0, 2, 0))]
    assert c != a[0] and a[0][1:] != a[1][1:]
    assert len(ds) == 6 and ds[3][0] == 3  # plain index: no seeding


def test_sampler_seeds_do_not_depend_on_the_rank_split():
    ds = PerSampleSeededDataset(_Noisy())
    one = PerSampleSeededSampler(ds, shuffle=True, seed=3)
    one.set_epoch(2)
    full = dict(one)
    assert sorted(full) == list(range(6))
    split = {}
    for rank in range(2):
        s = PerSampleSeededSampler(ds, shuffle=True, seed=3)
        s.rank, s.world_size = rank, 2
        s.num_samples = 3
        s.total_size = 6
        s.set_epoch(2)
        split.update(dict(s))
    assert split == full


def test_rng_state_roundtrip():
    state = get_rng_state()
    x = (np.random.rand(), torch.rand(3))
    set_rng_state(state)
    y = (np.random.rand(), torch.rand(3))
    assert x[0] == y[0] and torch.equal(x[1], y[1])


def _legacy_name(key: str) -> str:
    """The name a key of MGC's teacher had before the rename."""
    if key.startswith('teacher.'):
        return 'momentum_encoder.' + key[len('teacher.'):]
    return key
