"""Epoch counting shared by Mugs' schedule hooks."""
import math

from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_world_size
from mmengine.runner import IterBasedTrainLoop


def iters_per_epoch(runner) -> int:
    """Iterations of one pass over the training set on each process:
    ``len(train_dataloader)``, or, with an ``InfiniteSampler`` (whose
    length is the whole dataset), ``ceil(len(dataset) / (world_size x
    batch_size))``."""
    loader = runner.train_dataloader
    if isinstance(loader.sampler, InfiniteSampler):
        return max(
            1,
            math.ceil(
                len(loader.dataset) / (get_world_size() * loader.batch_size)))
    return max(1, len(loader))


def train_epoch(runner) -> int:
    """The current epoch: ``runner.epoch`` under an epoch-based loop; under
    an iteration-based loop (where ``runner.epoch`` stays 0)
    ``runner.iter // iters_per_epoch(runner)``."""
    if isinstance(runner.train_loop, IterBasedTrainLoop):
        return runner.iter // iters_per_epoch(runner)
    return runner.epoch


__all__ = ['iters_per_epoch', 'train_epoch']
