from .mugs_freeze_last_layer_hook import MugsFreezeLastLayerHook
from .mugs_teacher_temp_hook import MugsTeacherTempHook
from .progress import ProgressHook, progress_line
from .rng_state import RNGStateHook, get_rng_state, set_rng_state
from .robustness import (BadImageReportHook, NonFiniteLossError,
                         NonFiniteLossHook)

__all__ = [
    'BadImageReportHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'MugsFreezeLastLayerHook', 'MugsTeacherTempHook', 'ProgressHook',
    'progress_line', 'RNGStateHook', 'get_rng_state', 'set_rng_state'
]
