"""Mixed precision that also works without a GPU.

mmengine's ``AmpOptimWrapper`` refuses to run on the CPU. ``--amp`` in
``tools/train.py`` therefore selects fp16 + dynamic loss scaling on GPU and
:class:`CPUAutocastOptimWrapper` (bfloat16 autocast, no scaler: bf16 has
fp32's exponent range) on CPU. Loss maths that must stay in fp32 (softmax
over keys, centring, queues) disables autocast locally in mmmgc's heads.
"""
from contextlib import contextmanager
from typing import Optional

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS


class CPUAutocastMixin:
    """Runs an optim wrapper's forward under CPU autocast. Mix it in before
    the wrapper class; call :meth:`_set_cast_dtype` in ``__init__``."""

    def _set_cast_dtype(self, dtype: str) -> None:
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'{type(self).__name__}: optim_wrapper.dtype '
                             f"must be 'bfloat16' or 'float16', got "
                             f'{dtype!r}')
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(CPUAutocastMixin, OptimWrapper):
    """``OptimWrapper`` whose forward runs under CPU autocast.

    Args:
        optimizer: The optimizer (built from the config).
        accumulative_counts (int): Gradient accumulation. Defaults to 1.
        clip_grad (dict, optional): As in ``OptimWrapper``.
        dtype (str): ``'bfloat16'`` or ``'float16'``. Defaults to
            ``'bfloat16'``.
    """

    def __init__(self,
                 optimizer,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None,
                 dtype: str = 'bfloat16') -> None:
        super().__init__(
            optimizer,
            accumulative_counts=accumulative_counts,
            clip_grad=clip_grad)
        self._set_cast_dtype(dtype)


#: optim_wrapper.type -> (GPU fp16 type, CPU autocast type) for ``--amp``.
AMP_WRAPPER_TYPES = {
    'OptimWrapper': ('AmpOptimWrapper', 'CPUAutocastOptimWrapper'),
    'PerParamClipOptimWrapper':
    ('PerParamClipAmpOptimWrapper', 'PerParamClipCPUAutocastOptimWrapper'),
}


def set_amp(cfg) -> None:
    """Switch a config's optim wrapper to mixed precision for this device
    (the ``--amp`` flag of ``tools/train.py``); see
    :data:`AMP_WRAPPER_TYPES`."""
    ow = cfg.optim_wrapper
    wrapper_type = ow.get('type', 'OptimWrapper')
    family = None
    for plain, amp_types in AMP_WRAPPER_TYPES.items():
        if wrapper_type == plain or wrapper_type in amp_types:
            family = amp_types
    if family is None:
        raise ValueError(
            f'--amp: optim_wrapper.type={wrapper_type!r} has no mixed-'
            f'precision counterpart (known: {sorted(AMP_WRAPPER_TYPES)}); '
            'set mixed precision in the config instead.')
    if torch.cuda.is_available():
        ow['type'] = family[0]
        ow.setdefault('loss_scale', 'dynamic')
        ow.pop('dtype', None)
    else:
        ow['type'] = family[1]
        ow.pop('loss_scale', None)
        ow.setdefault('dtype', 'bfloat16')


__all__ = ['AMP_WRAPPER_TYPES', 'CPUAutocastOptimWrapper', 'set_amp']
