"""Low-level helpers of mmmgc. This package is imported before the
OpenMMLab version check of ``import mmmgc``, so nothing here imports an
OpenMMLab package at import time; the collectives (they import
``mmengine.dist``) are :mod:`mmmgc.utils.dist`."""
from .compat import apply_torch_load_shim
from .config_check import (check_crops_cover_a_patch, check_mgc_granularities,
                           check_pretrain_config)
from .cpu_dist import (cpu_ddp_wrapper_cfg, init_cpu_distributed,
                       shutdown_distributed)
from .figures import new_figure, rgb, save_png
from .peak_memory import PeakMemory
from .skip_log import SKIP_LOG_ENV
from .version_check import SUPPORTED, check_versions

__all__ = [
    'apply_torch_load_shim', 'check_versions', 'SUPPORTED',
    'cpu_ddp_wrapper_cfg', 'init_cpu_distributed', 'check_crops_cover_a_patch',
    'check_mgc_granularities', 'check_pretrain_config', 'shutdown_distributed',
    'SKIP_LOG_ENV', 'PeakMemory', 'new_figure', 'rgb', 'save_png'
]
