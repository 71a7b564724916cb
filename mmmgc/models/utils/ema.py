"""The momentum (EMA) teacher shared by MGC and Mugs.

THE CONVENTION, stated once for all of mmmgc: ``decay`` is the weight of the
OLD teacher value, as in the MoCo/BYOL/DINO/MGC/Mugs papers::

    teacher <- decay * teacher + (1 - decay) * student,   decay = 0.996 -> 1

(mmengine's ``ExponentialMovingAverage`` calls ``1 - decay`` its
"momentum"; mmmgc never uses that name for it.) ``decay`` follows a cosine
schedule from ``base_decay`` at iteration 0 to ``end_decay`` at the last
iteration. The teacher never receives gradients.
"""
import copy
import math
from typing import Optional

import torch
import torch.nn as nn


def cosine_decay(step: int, max_steps: int, base: float = 0.996,
                 end: float = 1.0) -> float:
    """Cosine schedule of the EMA decay from ``base`` (step 0) to ``end``
    (step ``max_steps``)."""
    if max_steps <= 0:
        return base
    t = min(max(step, 0), max_steps) / max_steps
    return end - (end - base) * (math.cos(math.pi * t) + 1) / 2


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """In place: ``teacher = decay * teacher + (1 - decay) * student`` for
    floating-point parameters; buffers (BN statistics, counters) are copied
    from the student.

    The parameters are updated with two fused ``torch._foreach_*`` calls
    over all of them instead of a Python loop of ``mul_`` + ``add_`` per
    tensor: the same element-wise operations in the same order, so the
    result is bit for bit the loop's. (``torch._foreach_lerp_`` would read
    the teacher once instead of twice, but rounds differently, and AdamW
    turns any rounding change into visible differences of the parameters
    whose gradient is pure rounding noise.) The buffers (few and small) are
    copied one by one. Parameters and buffers are paired in registration
    order, so teacher and student must have the same structure.

    Args:
        teacher (nn.Module): Updated in place.
        student (nn.Module): The source; its parameters are read detached.
        decay (float): Weight of the old teacher value, in ``[0, 1]``.
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f'EMA decay must be in [0, 1], got {decay}')
    t_params, s_params = list(teacher.parameters()), list(student.parameters())
    t_bufs, s_bufs = list(teacher.buffers()), list(student.buffers())
    if len(t_params) != len(s_params) or len(t_bufs) != len(s_bufs):
        raise ValueError(
            'ema_update_: teacher and student differ in structure ('
            f'{len(t_params)} vs {len(s_params)} parameters, {len(t_bufs)} '
            f'vs {len(s_bufs)} buffers)')
    ema_t, ema_s = [], []
    for t, s in zip(t_params, s_params):
        if t.shape != s.shape:
            raise ValueError(f'ema_update_: parameter shapes differ: '
                             f'{tuple(t.shape)} vs {tuple(s.shape)}')
        if t.is_floating_point() and s.dtype == t.dtype:
            ema_t.append(t)
            ema_s.append(s.detach())
        else:  # mixed dtypes: the plain in-place update
            t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    if ema_t:
        torch._foreach_mul_(ema_t, decay)
        torch._foreach_add_(ema_t, ema_s, alpha=1.0 - decay)
    for t, s in zip(t_bufs, s_bufs):
        t.copy_(s)


class EMATeacher(nn.Module):
    """A frozen copy of a module, updated by EMA from it.

    Args:
        student (nn.Module): The online module to copy and track.
        base_decay (float): Decay at iteration 0. Defaults to 0.996.
        end_decay (float): Decay at the last iteration. Defaults to 1.0.
    """

    def __init__(self, student: nn.Module, base_decay: float = 0.996,
                 end_decay: float = 1.0) -> None:
        super().__init__()
        if not (0 <= base_decay <= 1 and 0 <= end_decay <= 1):
            raise ValueError('EMATeacher: base_decay and end_decay must be in '
                             f'[0, 1], got {base_decay}, {end_decay}')
        self.module = copy.deepcopy(student)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.base_decay = base_decay
        self.end_decay = end_decay
        self.last_decay: Optional[float] = None

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def decay_at(self, step: Optional[int] = None,
                 max_steps: Optional[int] = None) -> float:
        """The decay for ``step`` of ``max_steps``; by default both are read
        from mmengine's MessageHub (``iter``, ``max_iters``), which the
        train loop fills in. Without them the decay is ``base_decay``."""
        if step is None or max_steps is None:
            from mmengine.logging import MessageHub
            hub = MessageHub.get_current_instance()
            step = hub.get_info('iter', 0) if step is None else step
            max_steps = hub.get_info('max_iters', 0) \
                if max_steps is None else max_steps
        return cosine_decay(int(step), int(max_steps or 0), self.base_decay,
                            self.end_decay)

    @torch.no_grad()
    def update(self, student: nn.Module, step: Optional[int] = None,
               max_steps: Optional[int] = None) -> float:
        """EMA-update from ``student``; returns the decay used."""
        decay = self.decay_at(step, max_steps)
        ema_update_(self.module, student, decay)
        self.last_decay = decay
        return decay
