"""AMP and determinism for MGC and Mugs, on CPU, through
``tools/train.py``'s argument handling and mmengine's Runner.

- ``--amp`` selects ``CPUAutocastOptimWrapper`` (MGC) or
  ``PerParamClipCPUAutocastOptimWrapper`` (Mugs), bf16, and trains; its
  first-step losses agree with fp32 to 2 % (bf16 keeps 8 mantissa bits);
  every softmax / log-softmax / logsumexp / cross-entropy called from mmmgc
  code gets fp32 inputs although autocast is on (shown by bf16 linear
  outputs in the same step), the losses are fp32, and queues, neighbour
  buffers and centre stay fp32.
- ``randomness=dict(seed=..., deterministic=True)`` gives bit-identical
  batches and losses in two runs; another seed gives other losses.
"""
import inspect
import math
import os.path as osp

import pytest
import torch
from torch.overrides import TorchFunctionMode

from mmmgc.engine import (CPUAutocastOptimWrapper,
                          PerParamClipCPUAutocastOptimWrapper)
from tests._utils import scaleout as u

pytestmark = pytest.mark.xdist_group('scaleout_inproc')

ALGOS = ['mgc', 'mugs']
SOFTMAX_OPS = ('softmax', 'log_softmax', 'logsumexp', 'cross_entropy')


def _cfg(algo: str, iters: int, seed: int = 0, deterministic: bool = False):
    cfg = u.tiny_cfg(
        algo,
        max_iters=iters,
        ckpt_interval=1000,
        seed=seed,
        deterministic=deterministic)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1000, save_last=False)
    return cfg


def _first_caller_outside_torch() -> str:
    torch_dir = osp.dirname(torch.__file__)
    for frame in inspect.stack(context=0)[1:]:
        if not frame.filename.startswith(torch_dir) and \
                frame.filename != __file__:
            return frame.filename
    return ''


class _DtypeRecorder(TorchFunctionMode):
    """Records input dtypes of softmax-like ops called from mmmgc code, and
    whether some linear layer produced bf16 (autocast really on)."""

    def __init__(self):
        super().__init__()
        self.softmax_inputs = []
        self.linear_out = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, '__name__', '')
        if name in SOFTMAX_OPS:
            caller = _first_caller_outside_torch()
            if f'{osp.sep}mmmgc{osp.sep}' in caller:
                self.softmax_inputs.append((name, args[0].dtype, caller))
        elif name == 'linear' and isinstance(out, torch.Tensor):
            self.linear_out.add(out.dtype)
        return out


def _fp32_buffers(model) -> list:
    names = [
        n for n, _ in model.named_buffers()
        if n.endswith(('.queue', 'center', 'teacher_buffer.queue'))
    ]
    return [(n, b.dtype) for n, b in model.named_buffers() if n in names]


@pytest.mark.slow
@pytest.mark.parametrize('algo', ALGOS)
def test_amp_bf16_on_cpu_matches_fp32_and_keeps_loss_maths_fp32(
        algo, tmp_path):
    if algo == 'mugs':
        pytest.importorskip('mmmgc.models.selfsup.mugs')
    fp32_dir, amp_dir = tmp_path / 'fp32', tmp_path / 'amp'
    fp32_dir.mkdir()
    amp_dir.mkdir()
    u.run_in_process(_cfg(algo, 1), str(fp32_dir), f'{algo}_fp32')

    loss_dtypes = {}
    recorder = _DtypeRecorder()
    cfg = _cfg(algo, 2)
    with recorder:
        runner = _run_with_loss_hook(cfg, str(amp_dir), f'{algo}_amp',
                                     loss_dtypes)
    expected = dict(
        mgc=CPUAutocastOptimWrapper,
        mugs=PerParamClipCPUAutocastOptimWrapper)[algo]
    assert type(runner.optim_wrapper) is expected
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert torch.bfloat16 in recorder.linear_out, 'autocast was not on'
    seen = {osp.basename(r[2]) for r in recorder.softmax_inputs}
    expected_files = dict(
        mgc={'mgc_soft_target_loss.py'},
        mugs={'mugs_group_loss.py', 'mugs_infonce_loss.py'})[algo]
    assert expected_files <= seen, seen
    not_fp32 = [r for r in recorder.softmax_inputs if r[1] != torch.float32]
    assert not not_fp32, not_fp32
    assert loss_dtypes and all(d == torch.float32
                               for d in loss_dtypes.values()), loss_dtypes
    buffers = _fp32_buffers(runner.model)
    if algo == 'mugs':
        assert len(buffers) >= 4, buffers  # 2 queues, 2 buffers, centre
    assert all(d == torch.float32 for _, d in buffers), buffers

    ref = u.read_records(str(fp32_dir))[1]['losses']
    amp = u.read_records(str(amp_dir))
    assert sorted(amp) == [1, 2]
    for key, hexval in ref.items():
        a, b = float.fromhex(amp[1]['losses'][key]), float.fromhex(hexval)
        assert math.isfinite(a)
        assert abs(a - b) <= 0.02 * abs(b) + 1e-3, (key, a, b)
    assert all(
        math.isfinite(float.fromhex(v)) for v in amp[2]['losses'].values())


def _run_with_loss_hook(cfg, work_dir, name, loss_dtypes):
    """``run_in_process`` with ``--amp`` and a forward hook recording the
    dtypes of the loss tensors."""
    from mmpretrain.models.selfsup import BaseSelfSupervisor

    def hook(module, args, kwargs, out):
        if kwargs.get('mode') == 'loss' and isinstance(out, dict):
            loss_dtypes.update({
                k: v.dtype
                for k, v in out.items() if 'loss' in k
            })

    orig_init = BaseSelfSupervisor.__init__

    def init(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        self.register_forward_hook(hook, with_kwargs=True)

    BaseSelfSupervisor.__init__ = init
    try:
        return u.run_in_process(cfg, work_dir, name, amp=True)
    finally:
        BaseSelfSupervisor.__init__ = orig_init


@pytest.fixture
def _restore_determinism():
    yield
    torch.use_deterministic_algorithms(False)


@pytest.mark.slow
@pytest.mark.parametrize('algo', ALGOS)
def test_deterministic_runs_give_identical_losses(algo, tmp_path,
                                                  _restore_determinism):
    if algo == 'mugs':
        pytest.importorskip('mmmgc.models.selfsup.mugs')
    recs = []
    for run, seed in enumerate((7, 7) + ((8, ) if algo == 'mgc' else ())):
        work_dir = tmp_path / f'run{run}'
        work_dir.mkdir()
        runner = u.run_in_process(
            _cfg(algo, 3, seed=seed, deterministic=True), str(work_dir),
            f'{algo}_det{run}')
        assert torch.are_deterministic_algorithms_enabled()
        assert runner.seed == seed
        recs.append(u.read_records(str(work_dir)))
    assert sorted(recs[0]) == [1, 2, 3]
    assert recs[0] == recs[1]  # batches and exact (hex) losses
    if len(recs) > 2:  # control: the seed matters
        assert recs[2][1]['losses'] != recs[0][1]['losses']
