"""Optimiser wrappers and constructors (registered in mmpretrain's
``OPTIM_WRAPPERS`` / ``OPTIM_WRAPPER_CONSTRUCTORS``)."""
from .cpu_autocast import (AMP_WRAPPER_TYPES, CPUAutocastMixin,
                           CPUAutocastOptimWrapper, set_amp)
from .layer_decay_constructor import ViTLayerDecayOptimWrapperConstructor
from .per_param_clip import (PerParamClipAmpOptimWrapper,
                             PerParamClipCPUAutocastOptimWrapper,
                             PerParamClipMixin, PerParamClipOptimWrapper,
                             clip_grad_norm_per_param_)

__all__ = [
    'AMP_WRAPPER_TYPES', 'CPUAutocastMixin', 'CPUAutocastOptimWrapper',
    'set_amp', 'ViTLayerDecayOptimWrapperConstructor',
    'PerParamClipAmpOptimWrapper', 'PerParamClipCPUAutocastOptimWrapper',
    'PerParamClipMixin', 'PerParamClipOptimWrapper',
    'clip_grad_norm_per_param_'
]
