from . import hooks  # noqa: F401
from .optim_wrapper import CPUAutocastOptimWrapper, set_amp

__all__ = ['CPUAutocastOptimWrapper', 'set_amp']
