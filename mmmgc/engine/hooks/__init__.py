from .robustness import (BadImageReportHook, NonFiniteLossError,
                         NonFiniteLossHook)
from .rng_state import RNGStateHook, get_rng_state, set_rng_state

__all__ = [
    'BadImageReportHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'RNGStateHook', 'get_rng_state', 'set_rng_state'
]
