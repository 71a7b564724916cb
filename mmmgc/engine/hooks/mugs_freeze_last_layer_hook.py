"""Freeze the prototypes of Mugs' group head at the start of training."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from .mugs_schedule_utils import train_epoch


@HOOKS.register_module()
class MugsFreezeLastLayerHook(Hook):
    """Keep the group head's last layer (the prototypes) fixed during the
    first ``freeze_epochs`` epochs (or ``freeze_iters`` iterations): 1
    epoch for ViT-S, 3 for ViT-B/L.

    As the authors (``p.grad = None``): while frozen, the prototypes'
    gradients are set to None by an optimiser step pre-hook, i.e. after
    the backward pass, the DDP gradient reduction and the gradient clipping,
    just before ``optimizer.step()``. The optimiser then skips them: no
    update, no weight decay, and AdamW's moments and step count stay as
    they are. The layer stays in the graph, so DDP needs no
    ``find_unused_parameters``.

    Epochs are counted by the train loop; under an iteration-based loop
    (where ``runner.epoch`` stays 0) an epoch is ``len(train_dataloader)``
    iterations.

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
        self._handles: List = []

    def frozen(self, epoch: int, iteration: int) -> bool:
        if self.freeze_iters is not None:
            return iteration < self.freeze_iters
        return epoch < self.freeze_epochs

    @staticmethod
    def _head(runner):
        head = getattr(get_ori_model(runner.model), 'group_head', None)
        if head is None or not hasattr(head, 'last_layer_frozen'):
            raise AttributeError('MugsFreezeLastLayerHook needs a model with '
                                 'a `group_head.last_layer_frozen` (Mugs)')
        return head

    def before_train(self, runner) -> None:
        """Register the gradient drop on every optimiser of the runner."""
        head = self._head(runner)
        wrappers = runner.optim_wrapper.values() if isinstance(
            runner.optim_wrapper,
            OptimWrapperDict) else [runner.optim_wrapper]
        self.after_train(runner)

        def drop(optimizer, args, kwargs) -> None:
            head.last_layer.drop_grads_()

        for wrapper in wrappers:
            self._handles.append(
                wrapper.optimizer.register_step_pre_hook(drop))

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._head(runner).last_layer_frozen = self.frozen(
            train_epoch(runner), runner.iter)
