"""mmmgc: Multi-Grained Contrast (MGC) and Mugs for OpenMMLab.

Importing this package checks the OpenMMLab versions, applies the runtime
shims of :mod:`mmmgc.utils.compat`, and registers every mmmgc module into
mmpretrain's registries (configs use ``default_scope='mmpretrain'``).
"""
from .utils import apply_torch_load_shim, check_versions
from .version import __version__, version_info

check_versions()
apply_torch_load_shim()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'version_info']
