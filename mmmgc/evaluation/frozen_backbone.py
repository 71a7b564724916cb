"""The frozen backbone of a pretraining config, for evaluation tools (kNN,
probes, pictures)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..checkpoint import load_checkpoint_strict, module_num_heads
from .demo_data import DEFAULT_MEAN, DEFAULT_STD


def build_frozen_backbone(model_cfg: dict, init: bool = True) -> nn.Module:
    """The backbone of a model config, returning raw tokens ``(B, T, C)``
    for a ViT (``out_type='raw'``), with drop-path switched off.

    Args:
        model_cfg (dict): The config's ``model``.
        init (bool): Run ``init_weights()``, as the Runner does before
            training. Without it an mmpretrain ViT keeps an all-zero
            position embedding and PyTorch's default layer init, which is
            NOT the "random init" that pretraining starts from. Defaults to
            True.

    Returns:
        nn.Module: The backbone (in training mode, as built).
    """
    from mmpretrain.registry import MODELS
    bcfg = dict(model_cfg['backbone'])
    is_vit = str(bcfg.get('type', '')).endswith(
        ('VisionTransformer', 'MoCoV3ViT'))
    if 'out_type' in bcfg or is_vit:
        bcfg['out_type'] = 'raw'
    bcfg.pop('init_cfg', None)
    if 'drop_path_rate' in bcfg:
        bcfg['drop_path_rate'] = 0.0
    backbone = MODELS.build(bcfg)
    if init:
        backbone.init_weights()
    return backbone


def load_pretrained_backbone(backbone: nn.Module,
                             checkpoint: str,
                             prefix: str = 'backbone.') -> int:
    """Load the ``prefix*`` tensors of a pretraining checkpoint STRICTLY
    (other keys, e.g. heads and teacher, are ignored); a missing, unknown or
    mis-shaped backbone key raises ``BackboneCheckpointError`` naming it.
    The file is read with :func:`mmmgc.checkpoint.load_checkpoint_file`
    (``.pth`` or ``.safetensors``; a pickle needing an unknown type is
    refused), and an exported file whose recorded head count differs from
    the backbone's raises :class:`mmmgc.checkpoint.HeadCountError`.

    Returns:
        int: The number of tensors loaded.
    """
    report = load_checkpoint_strict(
        backbone,
        checkpoint,
        prefix=prefix,
        what='backbone',
        ignore_unused_outside_prefix=True,
        num_heads=module_num_heads(backbone))
    return len(report.loaded)


def backbone_from_config(config: str,
                         checkpoint: Optional[str] = None,
                         seed: int = 0) -> tuple:
    """Build the frozen backbone of ``config`` (:func:`build_frozen_backbone`
    after ``torch.manual_seed(seed)``) and load ``checkpoint`` strictly
    (:func:`load_pretrained_backbone`) when given.

    Returns:
        tuple: ``(backbone in eval mode, cfg)``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    backbone = build_frozen_backbone(cfg.model)
    if checkpoint:
        load_pretrained_backbone(backbone, checkpoint)
    backbone.eval()  # (MoCoV3ViT.train returns None: do not chain)
    return backbone, cfg


def norm_stats(cfg) -> Tuple[Sequence[float], Sequence[float]]:
    """Mean and std of the config's data preprocessor (``model.
    data_preprocessor`` or the top-level ``data_preprocessor``; ImageNet's
    when neither is set)."""
    pre = cfg.model.get('data_preprocessor', None) or cfg.get(
        'data_preprocessor', None) or {}
    return (pre.get('mean', DEFAULT_MEAN), pre.get('std', DEFAULT_STD))


__all__ = [
    'build_frozen_backbone', 'load_pretrained_backbone',
    'backbone_from_config', 'norm_stats'
]
