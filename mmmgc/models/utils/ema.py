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
    from the student."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f'EMA decay must be in [0, 1], got {decay}')
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    for t, s in zip(teacher.buffers(), student.buffers()):
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
