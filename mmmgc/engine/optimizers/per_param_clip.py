"""Per-parameter gradient clipping (DINO / Mugs recipe), in fp32 and in
mixed precision.

Mixed precision is selected by ``--amp`` through
:func:`mmmgc.engine.set_amp`:

- GPU: :class:`PerParamClipAmpOptimWrapper`, fp16 autocast with mmengine's
  loss scaler; the gradients are unscaled BEFORE the per-parameter clipping
  (clipping scaled gradients would clip at ``max_norm * scale``), and an
  overflowing step is skipped by the scaler as usual.
- CPU: :class:`PerParamClipCPUAutocastOptimWrapper`, bf16 autocast (no
  scaler: bf16 has fp32's exponent range).
"""
from typing import Iterable, Optional, Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS

from .cpu_autocast import CPUAutocastMixin


@torch.no_grad()
def clip_grad_norm_per_param_(params: Iterable[torch.nn.Parameter],
                              max_norm: float) -> int:
    """Scale each parameter's gradient so that ITS OWN L2 norm is at most
    ``max_norm`` (``grad *= max_norm / (norm + 1e-6)`` when that factor is
    below 1). Unlike ``torch.nn.utils.clip_grad_norm_`` there is no global
    norm over all parameters.

    Args:
        params (Iterable[Parameter]): Parameters; those without a gradient
            are skipped.
        max_norm (float): Largest allowed norm per parameter.

    Returns:
        int: Number of gradients that were scaled down.
    """
    if max_norm <= 0:
        raise ValueError(f'max_norm must be > 0, got {max_norm}')
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0
    # one fused norm over all gradients, one host sync for the clipped
    # indices, and a fused multiply of the clipped gradients only (the
    # others would be multiplied by exactly 1)
    norms = torch.stack([n.float() for n in torch._foreach_norm(grads)])
    coef = max_norm / (norms + 1e-6)
    clipped = (coef < 1).nonzero().flatten().tolist()
    if clipped:
        torch._foreach_mul_([grads[i] for i in clipped],
                            [coef[i].to(grads[i].dtype) for i in clipped])
    return len(clipped)


class PerParamClipMixin:
    """The per-parameter clipping of the wrappers below. Mix it in before
    the wrapper class; call :meth:`_set_max_norm` in ``__init__`` (before
    the wrapper's own ``__init__``, so a bad value is reported first)."""

    def _set_max_norm(self, max_norm: float) -> None:
        if max_norm <= 0:
            raise ValueError(f'{type(self).__name__}: optim_wrapper.'
                             f'max_norm must be > 0, got {max_norm}')
        self.max_norm = max_norm

    def clip_params_(self) -> int:
        """Clip every parameter of the optimizer to ``max_norm`` and log
        how many were clipped (``train/num_clipped_grads``)."""
        params = [
            p for group in self.optimizer.param_groups for p in group['params']
        ]
        n = clip_grad_norm_per_param_(params, self.max_norm)
        self.message_hub.update_scalar('train/num_clipped_grads', n)
        return n


@OPTIM_WRAPPERS.register_module()
class PerParamClipOptimWrapper(PerParamClipMixin, OptimWrapper):
    """``OptimWrapper`` that clips every parameter's gradient norm to
    ``max_norm`` separately before each step (Mugs: 3.0 for ViT-S/B, 0.3
    for ViT-L).

    Args:
        optimizer: The optimizer (built from the config).
        max_norm (float): Per-parameter norm limit.
        accumulative_counts (int): Gradient accumulation. Defaults to 1.
        clip_grad (dict, optional): mmengine's global clipping, applied
            after the per-parameter one. Defaults to None.
    """

    def __init__(self,
                 optimizer,
                 max_norm: float,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None) -> None:
        self._set_max_norm(max_norm)
        super().__init__(
            optimizer,
            accumulative_counts=accumulative_counts,
            clip_grad=clip_grad)

    def step(self, **kwargs) -> None:
        self.clip_params_()
        super().step(**kwargs)


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
class PerParamClipAmpOptimWrapper(PerParamClipMixin, AmpOptimWrapper):
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
        self._set_max_norm(max_norm)
        super().__init__(
            loss_scale=loss_scale,
            dtype=dtype,
            optimizer=optimizer,
            accumulative_counts=accumulative_counts,
            clip_grad=clip_grad)

    def step(self, **kwargs) -> None:
        self.loss_scaler.unscale_(self.optimizer)
        self.clip_params_()
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)


__all__ = [
    'clip_grad_norm_per_param_', 'PerParamClipMixin',
    'PerParamClipOptimWrapper', 'PerParamClipCPUAutocastOptimWrapper',
    'PerParamClipAmpOptimWrapper'
]
