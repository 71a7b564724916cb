"""Mixed precision for :class:`PerParamClipOptimWrapper` (Mugs' optimiser
wrapper), selected by ``--amp`` through :func:`mmmgc.engine.set_amp`:

- GPU: :class:`PerParamClipAmpOptimWrapper`, fp16 autocast with mmengine's
  loss scaler; the gradients are unscaled BEFORE the per-parameter clipping
  (clipping scaled gradients would clip at ``max_norm * scale``), and an
  overflowing step is skipped by the scaler as usual.
- CPU: :class:`PerParamClipCPUAutocastOptimWrapper`, bf16 autocast (no
  scaler: bf16 has fp32's exponent range).
"""
from typing import Optional, Union

import torch
from mmengine.optim import AmpOptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS

from .optim_wrapper import CPUAutocastMixin
from .per_param_clip_optim_wrapper import (PerParamClipOptimWrapper,
                                           clip_wrapper_params_)


@OPTIM_WRAPPERS.register_module()
class PerParamClipCPUAutocastOptimWrapper(CPUAutocastMixin,
                                          PerParamClipOptimWrapper):
    """:class:`PerParamClipOptimWrapper` whose forward runs under CPU
    autocast.

    Args:
        optimizer: The optimizer (built from the config).
        max_norm (float): Per-parameter norm limit.
        accumulative_counts (int): Gradient accumulation. Defaults to 1.
        clip_grad (dict, optional): mmengine's global clipping, applied
            after the per-parameter one. Defaults to None.
        dtype (str): ``'bfloat16'`` or ``'float16'``. Defaults to
            ``'bfloat16'``.
    """

    def __init__(self,
                 optimizer,
                 max_norm: float,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None,
                 dtype: str = 'bfloat16') -> None:
        super().__init__(
            optimizer,
            max_norm=max_norm,
            accumulative_counts=accumulative_counts,
            clip_grad=clip_grad)
        self._set_cast_dtype(dtype)


@OPTIM_WRAPPERS.register_module()
class PerParamClipAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` (fp16 + loss scaling, GPU) with per-parameter
    gradient clipping on the unscaled gradients.

    Args:
        optimizer: The optimizer (built from the config).
        max_norm (float): Per-parameter norm limit.
        loss_scale (str | float | dict): As in ``AmpOptimWrapper``.
            Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): As in ``AmpOptimWrapper``.
        accumulative_counts (int): Gradient accumulation. Defaults to 1.
        clip_grad (dict, optional): mmengine's global clipping, applied
            after the per-parameter one. Defaults to None.
    """

    def __init__(self,
                 optimizer,
                 max_norm: float,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None) -> None:
        if max_norm <= 0:
            raise ValueError('PerParamClipAmpOptimWrapper: optim_wrapper.'
                             f'max_norm must be > 0, got {max_norm}')
        super().__init__(
            loss_scale=loss_scale,
            dtype=dtype,
            optimizer=optimizer,
            accumulative_counts=accumulative_counts,
            clip_grad=clip_grad)
        self.max_norm = max_norm

    def step(self, **kwargs) -> None:
        self.loss_scaler.unscale_(self.optimizer)
        clip_wrapper_params_(self)
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)


__all__ = [
    'PerParamClipAmpOptimWrapper', 'PerParamClipCPUAutocastOptimWrapper'
]
