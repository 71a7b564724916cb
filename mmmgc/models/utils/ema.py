"""The momentum (EMA) teacher shared by MGC and Mugs.

THE CONVENTION, stated once for all of mmmgc: ``decay`` is the weight of the
OLD teacher value, as in the MoCo/BYOL/DINO/MGC/Mugs papers::

    teacher <- decay * teacher + (1 - decay) * student,   decay = 0.996 -> 1

(mmengine's ``ExponentialMovingAverage`` calls ``1 - decay`` its
"momentum"; mmmgc never uses that name for it.) ``decay`` follows a cosine
schedule from ``ema_decay`` at iteration 0 to ``ema_end_decay`` at the last
iteration. The teacher never receives gradients.

The teacher is deterministic: :class:`EMATeacher` keeps every sub-module of
its copy in eval mode (no dropout, no drop path, whatever the student
uses); only BatchNorm layers follow the train mode, when ``batch_stats`` is
set (MGC's teacher projector, Mugs' ``teacher_batch_stats``).
"""
import copy
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import read_state_dict
from ...checkpoint.key_renames import rename_key


def cosine_decay(step: int,
                 max_steps: int,
                 base: float = 0.996,
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


def pretrained_init_cfg(init_cfg: Union[dict, Sequence[dict],
                                        None]) -> Optional[dict]:
    """The ``type='Pretrained'`` entry of an mmengine ``init_cfg`` (a dict
    or a list of dicts), or None."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for cfg in cfgs:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg
    return None


def checkpoint_keys(pretrained_cfg: dict) -> List[str]:
    """The state-dict keys that mmengine's ``PretrainedInit`` loads from
    ``pretrained_cfg``: its ``prefix`` (if any) selected and stripped, a
    leading ``module.`` (a DDP-saved file) removed."""
    state = read_state_dict(pretrained_cfg['checkpoint'])
    prefix = pretrained_cfg.get('prefix')
    keys = list(state)
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        keys = [k[len(prefix):] for k in keys if k.startswith(prefix)]
    return [k[len('module.'):] if k.startswith('module.') else k for k in keys]


class EMATeacher(nn.Module):
    """A frozen copy of a module, updated by EMA from it.

    The copy is deterministic: whatever ``train()`` is called with, every
    sub-module stays in eval mode (dropout and drop path off, whatever the
    student's rates), except BatchNorm layers, which follow the train mode
    when ``batch_stats`` is True. The copy keeps the student's module
    structure, so its parameters and buffers zip one to one with the
    student's in :func:`ema_update_`.

    Args:
        student (nn.Module): The online module to copy and track.
        ema_decay (float): Decay at iteration 0. Defaults to 0.996.
        ema_end_decay (float): Decay at the last iteration. Defaults to 1.0.
        batch_stats (bool): In train mode, the teacher's BatchNorm layers
            normalise with the current batch's statistics (as MoCo v3's and
            MGC's momentum projectors); otherwise with their running
            statistics (copied from the student). Defaults to False.
    """

    def __init__(self,
                 student: nn.Module,
                 ema_decay: float = 0.996,
                 ema_end_decay: float = 1.0,
                 batch_stats: bool = False) -> None:
        super().__init__()
        if not (0 <= ema_decay <= 1 and 0 <= ema_end_decay <= 1):
            raise ValueError('EMATeacher: ema_decay and ema_end_decay must be '
                             f'in [0, 1], got {ema_decay}, {ema_end_decay}')
        self.module = copy.deepcopy(student)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.ema_decay = ema_decay
        self.ema_end_decay = ema_end_decay
        self.batch_stats = batch_stats
        self.last_decay: Optional[float] = None
        self.train(student.training)

    def train(self, mode: bool = True) -> 'EMATeacher':
        """Eval mode for the teacher and every sub-module of its copy, except
        BatchNorm layers, in train mode when ``mode`` and ``batch_stats``
        (see the class doc)."""
        self.training = False
        self.module.eval()
        if mode and self.batch_stats:
            for m in self.module.modules():
                if isinstance(m, _BatchNorm):
                    m.train()
        return self

    @torch.no_grad()
    def sync_unless_loaded(self,
                           student: nn.Module,
                           init_cfg: Union[dict, Sequence[dict], None],
                           prefix: str,
                           renames: Sequence[Tuple[str, str]] = ()) -> bool:
        """Copy ``student`` into the teacher, unless the ``Pretrained``
        checkpoint of the algorithm's ``init_cfg`` holds this teacher's
        weights (then they were just loaded and are kept).

        Args:
            student (nn.Module): The online modules, in teacher order.
            init_cfg (dict | list[dict] | None): The algorithm's init_cfg.
            prefix (str): This teacher's key prefix in the algorithm's
                state dict, e.g. ``'teacher.module.'``.
            renames (Sequence[tuple[str, str]]): ``(old, new)`` key
                prefixes that the algorithm renames when loading (see
                :mod:`mmmgc.checkpoint.key_renames`), applied to the
                checkpoint's keys first. Defaults to none.

        Returns:
            bool: True when the student was copied.

        Raises:
            KeyError: The checkpoint holds some of the teacher's keys but
                not all of them.
        """
        cfg = pretrained_init_cfg(init_cfg)
        if cfg is not None:
            keys = {rename_key(k, renames) for k in checkpoint_keys(cfg)}
            own = [prefix + k for k in self.module.state_dict()]
            missing = [k for k in own if k not in keys]
            if not missing:
                return False
            if len(missing) < len(own):
                raise KeyError(
                    f'{cfg["checkpoint"]} holds {len(own) - len(missing)} of '
                    f'the {len(own)} teacher weights under {prefix!r}; '
                    f'missing e.g. {missing[:3]}. Give a checkpoint with '
                    'the whole teacher, or none of it (the teacher is then '
                    'copied from the student)')
        ema_update_(self.module, student, 0.0)
        return True

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def decay_at(self,
                 step: Optional[int] = None,
                 max_steps: Optional[int] = None) -> float:
        """The decay for ``step`` of ``max_steps``; by default both are read
        from mmengine's MessageHub (``iter``, ``max_iters``), which the
        train loop fills in. Without them the decay is ``ema_decay``."""
        if step is None or max_steps is None:
            from mmengine.logging import MessageHub
            hub = MessageHub.get_current_instance()
            step = hub.get_info('iter', 0) if step is None else step
            max_steps = hub.get_info('max_iters', 0) \
                if max_steps is None else max_steps
        return cosine_decay(
            int(step), int(max_steps or 0), self.ema_decay, self.ema_end_decay)

    @torch.no_grad()
    def update(self,
               student: nn.Module,
               step: Optional[int] = None,
               max_steps: Optional[int] = None) -> float:
        """EMA-update from ``student``; returns the decay used."""
        decay = self.decay_at(step, max_steps)
        ema_update_(self.module, student, decay)
        self.last_decay = decay
        return decay
