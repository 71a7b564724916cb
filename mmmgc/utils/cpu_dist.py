"""Distributed runs on CPU (gloo) with the pytorch and slurm launchers.

Two things in mmengine assume a GPU, and ``tools/train.py`` /
``tools/test.py`` work around both when no GPU is present:

- ``init_dist`` calls ``torch.cuda.set_device`` for both launchers, which
  fails on a CPU-only torch build (``torch._C`` has no
  ``_cuda_setDevice``): :func:`init_cpu_distributed` starts the process
  group from the same environment variables mmengine reads, and the Runner
  then finds it initialised and skips its own ``init_dist``.
- ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DDP, which
  DDP rejects for CPU modules: :func:`cpu_ddp_wrapper_cfg` sets
  ``model_wrapper_cfg`` with ``device_ids=None``.
"""
import os
import subprocess
from datetime import timedelta
from typing import Optional

import torch.distributed as torch_dist


def init_cpu_distributed(launcher: str,
                         backend: str = 'gloo',
                         timeout_s: Optional[int] = None) -> bool:
    """Initialise the default process group without touching CUDA.

    Args:
        launcher (str): ``'pytorch'`` (torchrun sets ``RANK``,
            ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) or ``'slurm'``
            (``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_NODELIST``,
            optional ``SLURM_LOCALID``; the master address is the first host
            of ``scontrol show hostname``, the port ``MASTER_PORT`` or
            29500, as in mmengine). ``'none'`` does nothing.
        backend (str): Defaults to ``'gloo'``.
        timeout_s (int, optional): Collective timeout in seconds.

    Returns:
        bool: Whether a process group was started here.
    """
    if launcher == 'none' or torch_dist.is_initialized():
        return False
    if launcher == 'slurm':
        node_list = os.environ['SLURM_NODELIST']
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1').strip()
        os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
        os.environ['RANK'] = os.environ['SLURM_PROCID']
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    elif launcher != 'pytorch':
        raise ValueError(f'launcher={launcher!r}: on CPU only the pytorch '
                         "and slurm launchers are supported ('mpi' needs "
                         'an MPI build of torch)')
    kwargs = {}
    if timeout_s is not None:
        kwargs['timeout'] = timedelta(seconds=int(timeout_s))
    torch_dist.init_process_group(
        backend=backend,
        init_method='env://',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **kwargs)
    return True


def cpu_ddp_wrapper_cfg(cfg) -> None:
    """Make ``cfg.model_wrapper_cfg`` build DDP for CPU modules
    (``device_ids=None``), keeping mmengine's defaults
    (``MMDistributedDataParallel``, ``broadcast_buffers=False``,
    ``find_unused_parameters`` from the config) and any explicit setting."""
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg['model_wrapper_cfg'] = wrapper


def shutdown_distributed() -> None:
    """End a finished distributed run cleanly: wait for every rank (rank 0
    may still be writing the last checkpoint), then destroy the process
    group. Without this a rank that finishes first exits with gloo's
    threads alive, can abort (SIGABRT, 'terminate called without an active
    exception') and leaves the other ranks waiting in a collective."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


__all__ = [
    'cpu_ddp_wrapper_cfg', 'init_cpu_distributed', 'shutdown_distributed'
]
