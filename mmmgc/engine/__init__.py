from . import hooks  # noqa: F401
from .optim_wrapper import CPUAutocastOptimWrapper, set_amp
from .per_param_clip_optim_wrapper import (PerParamClipOptimWrapper,
                                           clip_grad_norm_per_param_)
from .per_param_clip_amp import (PerParamClipAmpOptimWrapper,
                                 PerParamClipCPUAutocastOptimWrapper)
from .vit_layer_decay_constructor import ViTLayerDecayOptimWrapperConstructor

__all__ = [
    'CPUAutocastOptimWrapper', 'set_amp',
    'ViTLayerDecayOptimWrapperConstructor', 'PerParamClipOptimWrapper',
    'clip_grad_norm_per_param_', 'PerParamClipAmpOptimWrapper',
    'PerParamClipCPUAutocastOptimWrapper'
]
