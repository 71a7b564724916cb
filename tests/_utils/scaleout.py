"""Helpers shared by the scale-out tests (launchers, 2-rank equivalence,
resume, AMP, config errors): tiny configs written to disk, the training
tools run as subprocesses, free ports, and a hook that records what every
iteration saw (imported by the subprocesses through ``custom_imports`` as
``tests._utils.scaleout``; the repository root is put on their
``PYTHONPATH``)."""
import hashlib
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from tests._utils import REPO_ROOT

PYTHON = sys.executable


def free_port() -> int:
    """A TCP port that was free a moment ago (bind to port 0)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _digest(x) -> str:
    h = hashlib.sha1()
    if isinstance(x, torch.Tensor):
        h.update(x.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(x, (list, tuple)):
        for v in x:
            h.update(_digest(v).encode())
    else:
        h.update(repr(x).encode())
    return h.hexdigest()[:16]


@HOOKS.register_module(force=True)
class ScaleoutRecordHook(Hook):
    """Appends, per training iteration, a digest of the batch (images and
    view geometry) and the exact loss values to
    ``work_dir/record_rank{r}.jsonl``. (``force``: registering it again,
    e.g. when a test reloads this module, is not an error.)"""

    priority = 'VERY_LOW'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        geometry = []
        for ds in data_batch.get('data_samples', []):
            geometry.append([
                ds.get(k).tolist()
                if isinstance(ds.get(k), torch.Tensor) else repr(ds.get(k))
                for k in ('view_boxes', 'view_flips') if k in ds
            ])
        rec = dict(
            iter=runner.iter + 1,
            inputs=_digest(data_batch['inputs']),
            geometry=_digest(geometry),
            losses={
                k: float(v).hex()
                for k, v in sorted(outputs.items()) if 'loss' in k
            })
        rank = int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', 0)))
        path = osp.join(runner.work_dir, f'record_rank{rank}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(rec) + '\n')


def read_records(work_dir: str, rank: int = 0) -> Dict[int, dict]:
    path = osp.join(work_dir, f'record_rank{rank}.jsonl')
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return {r['iter']: r for r in recs}


DEMOS = dict(
    mgc='configs/mgc/mgc_demo.py',
    mugs='configs/mugs/mugs_demo.py',
    mocov3='configs/mocov3/mocov3_vit-tiny-p8_demo.py')


def tiny_cfg(algo: str = 'mgc',
             num_samples: int = 8,
             batch_size: int = 4,
             max_iters: Optional[int] = None,
             max_epochs: Optional[int] = None,
             ckpt_interval: int = 1,
             by_epoch: bool = False,
             num_workers: int = 0,
             persistent_workers: bool = False,
             seeded: bool = True,
             rng_hook: bool = True,
             record: bool = True,
             seed: int = 0,
             deterministic: bool = False) -> Config:
    """A demo config shrunk for tests (tiny data, batch, schedule).

    ``seeded`` wraps the data in the per-sample seeded sampler/dataset;
    ``rng_hook`` adds :class:`RNGStateHook`; ``record`` adds
    :class:`ScaleoutRecordHook`.
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, DEMOS[algo]))
    dl = cfg.train_dataloader
    dl.batch_size = batch_size
    dl.num_workers = num_workers
    dl.persistent_workers = persistent_workers
    dl.dataset.num_samples = num_samples
    if seeded:
        dl.sampler = dict(type='PerSampleSeededSampler', shuffle=True)
        dl.dataset = dict(type='PerSampleSeededDataset', dataset=dl.dataset)
    if max_iters is not None:
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
        length = max_iters
    else:
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
        length = max_epochs
    cfg.param_scheduler = [
        dict(
            type='CosineAnnealingLR',
            T_max=length,
            eta_min=1e-5,
            by_epoch=max_iters is None)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        interval=ckpt_interval,
        by_epoch=by_epoch,
        max_keep_ckpts=-1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    hooks = [
        h for h in cfg.get('custom_hooks', []) if h['type'] != 'RNGStateHook'
    ]
    if rng_hook:
        hooks.append(dict(type='RNGStateHook'))
    if record:
        hooks.append(dict(type='ScaleoutRecordHook'))
    cfg.custom_hooks = hooks
    imports = list(cfg.custom_imports['imports'])
    if record and 'tests._utils.scaleout' not in imports:
        imports.append('tests._utils.scaleout')
    cfg.custom_imports = dict(imports=imports, allow_failed_imports=False)
    cfg.randomness = dict(
        seed=seed, diff_rank_seed=True, deterministic=deterministic)
    cfg.log_processor = dict(window_size=1)
    return cfg


def dump_cfg(cfg: Config, path: str) -> str:
    cfg.dump(path)
    return path


def run_env(extra: Optional[dict] = None) -> dict:
    env = dict(os.environ)
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO_ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    env['PYTHON'] = PYTHON
    env.pop('CUDA_VISIBLE_DEVICES', None)
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
              'MASTER_PORT'):
        env.pop(k, None)
    env.update(extra or {})
    return env


def run(cmd: List[str],
        cwd: str = REPO_ROOT,
        env: Optional[dict] = None,
        timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a command; fail with its output when it exits non-zero."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env or run_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}:\n'
                             f'{proc.stdout[-6000:]}')
    return proc


def train(cfg_path: str, work_dir: str, *args: str) -> str:
    """``python tools/train.py cfg --work-dir work_dir args...``."""
    return run([
        PYTHON,
        osp.join(REPO_ROOT, 'tools/train.py'), cfg_path, '--work-dir',
        work_dir, *args
    ]).stdout


def load_ckpt(path: str) -> dict:
    from mmmgc.checkpoint import load_checkpoint_file
    return load_checkpoint_file(str(path))


def assert_state_equal(a: dict, b: dict, what: str = '') -> None:
    """Bit-exact equality of two nested structures of tensors."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), what
        assert a.dtype == b.dtype and a.shape == b.shape, what
        assert torch.equal(a, b), f'{what} differs'
    elif isinstance(a, dict):
        assert set(a) == set(b), f'{what}: keys {set(a) ^ set(b)}'
        for k in a:
            assert_state_equal(a[k], b[k], f'{what}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            assert_state_equal(x, y, f'{what}[{i}]')
    elif hasattr(a, 'shape'):  # numpy arrays in RNG states
        assert (a == b).all(), f'{what} differs'
    else:
        assert a == b, f'{what}: {a!r} != {b!r}'


def run_in_process(cfg: Config, work_dir: str, name: str, amp: bool = False):
    """Build a Runner through ``tools/train.py``'s ``merge_args`` (so that
    ``--amp`` is the real flag) and train it in this process."""
    import importlib.util
    import uuid
    from unittest import mock

    from mmengine.runner import Runner
    spec = importlib.util.spec_from_file_location(
        'mmmgc_tools_train', osp.join(REPO_ROOT, 'tools/train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg_path = dump_cfg(cfg, osp.join(work_dir, f'{name}.py'))
    argv = ['train.py', cfg_path, '--work-dir', work_dir]
    if amp:
        argv.append('--amp')
    with mock.patch.object(sys, 'argv', argv):
        args = tool.parse_args()
    cfg = tool.merge_args(Config.fromfile(cfg_path), args)
    cfg.experiment_name = f'{name}_{uuid.uuid4().hex[:8]}'
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner
