"""Teacher-temperature warm-up of Mugs' group head."""
from typing import Optional

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from .mugs_schedule_utils import train_epoch


def check_teacher_temperatures(warmup_temp: float, temp: float) -> None:
    """Raise unless both temperatures of the warm-up are positive."""
    if warmup_temp <= 0 or temp <= 0:
        raise ValueError('MugsTeacherTempHook: warmup_temp and temp must be '
                         f'> 0, got {warmup_temp}, {temp}')


def mugs_teacher_temperature(step: int,
                             warmup_steps: int,
                             warmup_temp: float = 0.04,
                             temp: float = 0.07) -> float:
    """Teacher temperature of the group head at ``step`` (epoch or iter).

    Linear from ``warmup_temp`` at step 0 to ``temp`` at step
    ``warmup_steps - 1`` (``numpy.linspace(warmup_temp, temp,
    warmup_steps)``, as DINO/Mugs), then constant ``temp``. With
    ``warmup_steps <= 0`` it is ``temp`` throughout.

    Args:
        step (int): Current epoch (or iteration).
        warmup_steps (int): Length of the warm-up.
        warmup_temp (float): Start value. Defaults to 0.04.
        temp (float): Final value. Defaults to 0.07.

    Returns:
        float: The temperature.
    """
    check_teacher_temperatures(warmup_temp, temp)
    if warmup_steps <= 0 or step >= warmup_steps:
        return float(temp)
    if warmup_steps == 1:
        return float(warmup_temp)
    step = max(step, 0)
    return float(warmup_temp + (temp - warmup_temp) * step /
                 (warmup_steps - 1))


@HOOKS.register_module()
class MugsTeacherTempHook(Hook):
    """Set ``model.group_head.teacher_temp`` before every iteration.

    Linear warm-up from ``warmup_temp`` to ``temp`` over ``warmup_epochs``
    epochs (per epoch, ``numpy.linspace`` as DINO/Mugs), or over
    ``warmup_iters`` iterations when that is given instead; then constant.
    ViT-S 100 ep uses a constant 0.04 (``warmup_temp = temp = 0.04``);
    ViT-S 300/800 ep warm up over 30 epochs, ViT-B/L over 50. Under an
    iteration-based loop (where ``runner.epoch`` stays 0) an epoch is
    ``len(train_dataloader)`` iterations.

    Args:
        warmup_temp (float): Defaults to 0.04.
        temp (float): Defaults to 0.07.
        warmup_epochs (int, optional): Defaults to 30.
        warmup_iters (int, optional): Per-iteration warm-up instead.
            Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self,
                 warmup_temp: float = 0.04,
                 temp: float = 0.07,
                 warmup_epochs: Optional[int] = 30,
                 warmup_iters: Optional[int] = None) -> None:
        if (warmup_epochs is None) == (warmup_iters is None):
            raise ValueError('MugsTeacherTempHook: give exactly one of '
                             'warmup_epochs and warmup_iters, got '
                             f'{warmup_epochs}, {warmup_iters}')
        check_teacher_temperatures(warmup_temp, temp)
        self.warmup_temp = warmup_temp
        self.temp = temp
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters

    def temperature(self, epoch: int, iteration: int) -> float:
        if self.warmup_iters is not None:
            return mugs_teacher_temperature(iteration, self.warmup_iters,
                                            self.warmup_temp, self.temp)
        return mugs_teacher_temperature(epoch, self.warmup_epochs,
                                        self.warmup_temp, self.temp)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        head = getattr(get_ori_model(runner.model), 'group_head', None)
        if head is None or not hasattr(head, 'teacher_temp'):
            raise AttributeError('MugsTeacherTempHook needs a model with a '
                                 '`group_head.teacher_temp` (Mugs)')
        t = self.temperature(train_epoch(runner), runner.iter)
        head.teacher_temp = t
        runner.message_hub.update_scalar('train/teacher_temp', t)
