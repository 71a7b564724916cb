from .robustness import (BadImageReportHook, NonFiniteLossError,
                         NonFiniteLossHook)

__all__ = ['BadImageReportHook', 'NonFiniteLossError', 'NonFiniteLossHook']
