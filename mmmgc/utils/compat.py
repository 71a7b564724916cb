"""Runtime shims that the pinned OpenMMLab stack needs on new torch.

This is THE ONE PLACE where mmmgc adapts third-party behaviour at run time
(the one install-time edit, to torchvision, lives in ``tools/install.sh``).

1. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and
   mmengine 0.10.7's checkpoints (which pickle numpy scalars, ``HistoryBuffer``
   objects and message-hub state) then fail to load, breaking ``--resume`` and
   ``load_checkpoint``. We re-register mmengine's local-file checkpoint
   loader with one that passes ``weights_only=False``. Only mmengine's own
   loader changes; ``torch.load`` elsewhere keeps torch's default. Loading a
   checkpoint runs its pickle: only load files you trust (as with any
   mmengine checkpoint before torch 2.6).
"""
import os.path as osp

import torch

_APPLIED = False


def _load_from_local(filename, map_location):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location,
                      weights_only=False)


def apply_torch_load_shim() -> None:
    """Make mmengine load its own checkpoints under torch >= 2.6.

    Idempotent; called once by ``import mmmgc``.
    """
    global _APPLIED
    if _APPLIED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        _load_from_local)
    _APPLIED = True
