"""Save the global random-generator states in checkpoints and restore them
on resume, so that a resumed run continues the uninterrupted trajectory.

mmengine checkpoints hold the model (with queues and the EMA teacher, which
are buffers and parameters), the optimiser, the schedulers and the message
hub, but not the states of python ``random``, ``numpy`` and torch's
generators: a resumed run re-seeds them from ``randomness.seed`` and every
random choice after the resume differs (MGC's query-cell sampling, drop
path, augmentations run in the main process). Two more mmengine details
matter and are handled here:

- ``IterBasedTrainLoop`` replays (loads and discards) the ``k`` batches it
  skips, which consumes random numbers when the pipeline runs in the main
  process. The states are therefore restored right before the first batch
  that is really trained, after the replay.
- Only rank 0 writes the checkpoint (``save_checkpoint`` is master-only),
  so under DDP every rank's states are all-gathered after each training
  iteration and epoch (a few kB per rank) and rank ``r`` restores entry
  ``r`` on resume.

Augmentations in dataloader workers are not driven by these states; make
them resume-exact with :class:`~mmmgc.datasets.PerSampleSeededSampler` and
:class:`~mmmgc.datasets.PerSampleSeededDataset`.
"""
import random
from typing import List, Optional

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmpretrain.registry import HOOKS

from ...utils.dist import is_multi_rank

CKPT_KEY = 'rng_states'


def get_rng_state() -> dict:
    """The states of python ``random``, numpy and torch (CPU and, when
    initialised, the current CUDA device)."""
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


class _RestoreAfterReplay:
    """Wraps ``IterBasedTrainLoop.dataloader_iterator``: lets the loop's
    resume replay draw ``skip`` batches, then restores the RNG state right
    before the first trained batch and puts the original iterator back."""

    def __init__(self, loop, skip: int, state: dict) -> None:
        self._loop = loop
        self._inner = loop.dataloader_iterator
        self._skip = skip
        self._count = 0
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._count == self._skip:
            set_rng_state(self._state)
            self._loop.dataloader_iterator = self._inner
            return next(self._inner)
        self._count += 1
        return next(self._inner)

    def __getattr__(self, name: str):
        if name == '_inner':
            raise AttributeError(name)
        return getattr(self._inner, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Checkpoint the global RNG states of every rank; restore on resume.

    Add it to ``custom_hooks`` of a pretraining config::

        custom_hooks = [dict(type='RNGStateHook')]

    The states go into the checkpoint under ``'rng_states'`` (a list, one
    entry per rank). They are restored only when resuming (the loop's
    iteration or epoch is non-zero after loading), not for ``load_from``.
    Resuming with a different number of ranks keeps the fresh seeds and
    warns. ``EpochBasedTrainLoop`` resumes at the start of the saved epoch,
    so a checkpoint written in the middle of an epoch (``by_epoch=False``)
    cannot be resumed exactly by mmengine; the hook warns then.

    Its priority (``'LOW'``) makes it capture the states after the other
    hooks' ``after_train_iter`` and before ``CheckpointHook`` (``'VERY_LOW'``)
    saves them.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._captured: Optional[List[dict]] = None
        self._loaded: Optional[List[dict]] = None

    # -------------------------------------------------------------- capture
    def _capture(self) -> None:
        state = get_rng_state()
        if is_multi_rank():
            states: List[Optional[dict]] = [None] * get_world_size()
            torch_dist.all_gather_object(states, state)
            self._captured = states
        else:
            self._captured = [state]

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if is_multi_rank():
            self._capture()

    def after_train_epoch(self, runner) -> None:
        if is_multi_rank():
            self._capture()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not is_multi_rank():
            self._capture()  # exactly now: nothing draws before the save
        if self._captured is not None:
            checkpoint[CKPT_KEY] = self._captured

    # -------------------------------------------------------------- restore
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get(CKPT_KEY)

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        loop = runner.train_loop
        if loop.iter == 0 and loop.epoch == 0:
            return  # a fresh run or `load_from`: keep the fresh seeds
        if loaded is None:
            print_log(
                'RNGStateHook: the resumed checkpoint has no RNG states; '
                'random choices after the resume will differ from the '
                'uninterrupted run.',
                logger='current',
                level='WARNING')
            return
        world = get_world_size()
        if len(loaded) != world:
            print_log(
                f'RNGStateHook: the checkpoint holds RNG states of '
                f'{len(loaded)} ranks but this run has {world}; keeping '
                'the fresh seeds.',
                logger='current',
                level='WARNING')
            return
        state = loaded[get_rank()]
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreAfterReplay(
                loop, loop.iter, state)
            return
        num_batches = len(loop.dataloader)
        if loop.iter != loop.epoch * num_batches:
            print_log(
                f'RNGStateHook: resuming at iteration {loop.iter}, which is '
                f'not the end of epoch {loop.epoch}: EpochBasedTrainLoop '
                'restarts the epoch, so the run cannot continue exactly. '
                'Save checkpoints by epoch for an exact resume.',
                logger='current',
                level='WARNING')
        _start_persistent_workers(loop.dataloader)
        set_rng_state(state)


def _start_persistent_workers(dataloader) -> None:
    """Create a persistent-worker iterator now, before the states are
    restored: creating it draws a seed from torch's generator, which the
    uninterrupted run did only once, at its first epoch (later epochs reuse
    the workers)."""
    if (getattr(dataloader, 'persistent_workers', False)
            and getattr(dataloader, 'num_workers', 0) > 0
            and getattr(dataloader, '_iterator', False) is None):
        dataloader._iterator = dataloader._get_iterator()


__all__ = ['RNGStateHook', 'get_rng_state', 'set_rng_state']
