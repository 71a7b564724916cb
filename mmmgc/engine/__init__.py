from . import hooks  # noqa: F401
from .optimizers import (CPUAutocastOptimWrapper, PerParamClipAmpOptimWrapper,
                         PerParamClipCPUAutocastOptimWrapper,
                         PerParamClipOptimWrapper,
                         ViTLayerDecayOptimWrapperConstructor,
                         clip_grad_norm_per_param_, set_amp)

__all__ = [
    'CPUAutocastOptimWrapper', 'set_amp',
    'ViTLayerDecayOptimWrapperConstructor', 'PerParamClipOptimWrapper',
    'clip_grad_norm_per_param_', 'PerParamClipAmpOptimWrapper',
    'PerParamClipCPUAutocastOptimWrapper'
]
