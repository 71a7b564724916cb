"""Freeze the prototypes of Mugs' group head at the start of training."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class MugsFreezeLastLayerHook(Hook):
    """Give the group head's last layer (the prototypes) zero gradient
    during the first ``freeze_epochs`` epochs (or ``freeze_iters``
    iterations): 1 epoch for ViT-S, 3 for ViT-B/L.

    The layer stays in the autograd graph with a zero gradient (so DDP sees
    it used); with Adam-type optimisers and zero moments this leaves it
    unchanged, as DINO's "cancel gradients" does.

    Args:
        freeze_epochs (int, optional): Defaults to 1.
        freeze_iters (int, optional): Count in iterations instead.
            Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self,
                 freeze_epochs: Optional[int] = 1,
                 freeze_iters: Optional[int] = None) -> None:
        if (freeze_epochs is None) == (freeze_iters is None):
            raise ValueError('MugsFreezeLastLayerHook: give exactly one of '
                             'freeze_epochs and freeze_iters, got '
                             f'{freeze_epochs}, {freeze_iters}')
        self.freeze_epochs = freeze_epochs
        self.freeze_iters = freeze_iters

    def frozen(self, epoch: int, iteration: int) -> bool:
        if self.freeze_iters is not None:
            return iteration < self.freeze_iters
        return epoch < self.freeze_epochs

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'group_head', None)
        if head is None or not hasattr(head, 'last_layer_frozen'):
            raise AttributeError('MugsFreezeLastLayerHook needs a model with '
                                 'a `group_head.last_layer_frozen` (Mugs)')
        head.last_layer_frozen = self.frozen(runner.epoch, runner.iter)
