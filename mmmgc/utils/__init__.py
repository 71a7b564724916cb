from .compat import apply_torch_load_shim
from .version_check import SUPPORTED, check_versions

__all__ = ['apply_torch_load_shim', 'check_versions', 'SUPPORTED']
