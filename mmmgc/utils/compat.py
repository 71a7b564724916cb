"""Runtime shims that the pinned OpenMMLab stack needs on new torch.

This is THE ONE PLACE where mmmgc adapts third-party behaviour at run time
(the one install-time edit, to torchvision, lives in ``tools/install.sh``).

1. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and
   mmengine 0.10.7's checkpoints (which pickle numpy arrays and scalars,
   ``HistoryBuffer`` objects and message-hub state) then fail to load with
   torch's default allow-list, breaking ``--resume`` and
   ``load_checkpoint``. mmengine's local-file and URL checkpoint loaders
   are re-registered with :func:`mmmgc.checkpoint.load_checkpoint_file`,
   which keeps ``weights_only=True`` and allows exactly the extra types
   those checkpoints hold: a file that needs anything else is refused and
   nothing from it runs (opt-in for a trusted file:
   ``MMMGC_TRUST_CHECKPOINT=1`` or a tool's ``--trust-checkpoint``).
"""

__all__ = ['apply_torch_load_shim']


def apply_torch_load_shim() -> None:
    """Route mmengine's checkpoint loading through mmmgc's safe loader.

    Idempotent; called once by ``import mmmgc``.
    """
    from ..checkpoint.safe_load import register_mmengine_loader
    register_mmengine_loader()
