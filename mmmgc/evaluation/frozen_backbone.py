"""The frozen backbone of a pretraining config, for evaluation tools (kNN,
probes, pictures)."""
import torch.nn as nn

from ..checkpoint import load_checkpoint_strict, module_num_heads


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
    if 'out_type' in bcfg or str(bcfg.get('type', '')).endswith(
            ('VisionTransformer', 'MoCoV3ViT')):
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
        backbone, checkpoint, prefix=prefix, what='backbone',
        ignore_unused_outside_prefix=True,
        num_heads=module_num_heads(backbone))
    return len(report.loaded)
