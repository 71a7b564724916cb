from . import hooks  # noqa: F401
from .optimizers import (CPUAutocastOptimWrapper, PerParamClipAmpOptimWrapper,
                         PerParamClipCPUAutocastOptimWrapper,
                         PerParamClipOptimWrapper,
                         ViTLayerDecayOptimWrapperConstructor,
                         clip_grad_norm_per_param_, set_amp)
from .progress_runner import (ProgressRunner, WarningCounter, quiet_console,
                              restore_warnings, warnings_to_log_file)

__all__ = [
    'CPUAutocastOptimWrapper', 'set_amp',
    'ViTLayerDecayOptimWrapperConstructor', 'PerParamClipOptimWrapper',
    'clip_grad_norm_per_param_', 'PerParamClipAmpOptimWrapper',
    'PerParamClipCPUAutocastOptimWrapper', 'ProgressRunner', 'quiet_console',
    'warnings_to_log_file', 'restore_warnings', 'WarningCounter'
]
