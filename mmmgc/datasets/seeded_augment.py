"""Augmentation randomness drawn per ``(seed, epoch, sample)``.

mmengine's data pipelines draw from the global ``random`` / ``numpy`` /
``torch`` generators of whichever process runs them, so the augmentation
of a sample depends on the number of dataloader workers, on whether they
are persistent, on the order in which samples were loaded before it and,
with non-persistent workers, mmengine's ``worker_init_fn`` re-seeds every
worker identically at every epoch. None of that survives a resume.

:class:`PerSampleSeededSampler` yields ``(index, sample_seed)`` pairs
where ``sample_seed`` is a hash of the sampler seed, the epoch and the
index; :class:`PerSampleSeededDataset` seeds the three global generators
with it for the duration of one ``__getitem__`` and restores them after.
The augmentation of sample ``i`` at epoch ``e`` is then a pure function of
``(seed, e, i)``: identical whatever the number of workers or ranks, whether
workers persist, and whether the run was interrupted and resumed (even
across mmengine's ``IterBasedTrainLoop`` replay, which loads and discards
the batches it skips). Loading leaves the main process's global
generators untouched, so model-side randomness is independent of data
loading. Use both together::

    train_dataloader = dict(
        sampler=dict(type='PerSampleSeededSampler', shuffle=True),
        dataset=dict(type='PerSampleSeededDataset', dataset=dict(...)))
"""
import random
from contextlib import contextmanager
from typing import Iterator, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmpretrain.registry import DATA_SAMPLERS, DATASETS
from torch.utils.data import Dataset


def per_sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed for sample ``index`` at ``epoch`` (NumPy SeedSequence
    hash of the three numbers; independent streams for neighbours)."""
    ss = np.random.SeedSequence(
        [int(seed) & 0xFFFFFFFF,
         int(epoch), int(index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@contextmanager
def seeded_global_rng(seed: int):
    """Seed python ``random``, ``numpy`` and torch's CPU generator with
    ``seed`` inside the block and restore their previous states after it
    (torch's CUDA generators are not touched)."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


@DATA_SAMPLERS.register_module()
class PerSampleSeededSampler(DefaultSampler):
    """``DefaultSampler`` that also yields a seed for every sample.

    Shuffling, rank splitting and ``round_up`` are those of mmengine's
    ``DefaultSampler``; each index ``i`` comes out as
    ``(i, per_sample_seed(seed, epoch, i))`` for
    :class:`PerSampleSeededDataset`.

    Args:
        dataset (Dataset): The dataset (a :class:`PerSampleSeededDataset`).
        shuffle (bool): Shuffle every epoch. Defaults to True.
        seed (int, optional): Shared seed (filled in by the runner from
            ``randomness.seed``). Defaults to None.
        round_up (bool): As in ``DefaultSampler``. Defaults to True.
    """

    def __init__(self,
                 dataset: Dataset,
                 shuffle: bool = True,
                 seed: Union[int, None] = None,
                 round_up: bool = True) -> None:
        super().__init__(
            dataset=dataset, shuffle=shuffle, seed=seed, round_up=round_up)

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        epoch = self.epoch
        for index in super().__iter__():
            yield int(index), per_sample_seed(self.seed, epoch, index)


@DATASETS.register_module()
class PerSampleSeededDataset(Dataset):
    """Wrap a dataset so that its pipeline draws from per-sample seeds.

    ``dataset[(i, s)]`` runs ``inner[i]`` with the global generators seeded
    with ``s`` (see :func:`seeded_global_rng`); ``dataset[i]`` is a plain
    ``inner[i]``. Attributes not found here (``metainfo``, ``data_root``,
    ...) are those of the inner dataset.

    Args:
        dataset (dict | Dataset): The inner dataset or its config.
    """

    def __init__(self, dataset: Union[dict, Dataset]) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        if isinstance(key, (tuple, list)):
            if len(key) != 2:
                raise KeyError('PerSampleSeededDataset expects an index or '
                               f'an (index, seed) pair, got {key!r}')
            index, seed = key
            with seeded_global_rng(int(seed)):
                return self.dataset[int(index)]
        return self.dataset[key]

    def __getattr__(self, name: str):
        # Only called for attributes missing here; guard against recursion
        # before ``dataset`` is set (e.g. while unpickling in a worker).
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    @property
    def metainfo(self) -> dict:
        return getattr(self.dataset, 'metainfo', {})


__all__ = [
    'PerSampleSeededDataset', 'PerSampleSeededSampler', 'per_sample_seed',
    'seeded_global_rng'
]
