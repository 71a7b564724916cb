"""Build-time checks and the ViT initialisation shared by MGC and Mugs."""
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmengine.model.weight_init import trunc_normal_

from ..utils.ema import pretrained_init_cfg

#: Values of the algorithms' ``backbone_init`` argument.
BACKBONE_INITS = (None, 'trunc_normal')


def check_width(width: int, width_key: str, cfg: Union[dict, nn.Module],
                cfg_key: str, field: str) -> None:
    """Raise at build time when a sub-module config's input width differs
    from the width that feeds it.

    Args:
        width (int): The width that feeds the module (e.g. the backbone's
            ``embed_dims``).
        width_key (str): Its config key, for the message (e.g.
            ``'model.backbone.arch'``).
        cfg (dict | nn.Module): The consuming module's config; a built
            module is not checked.
        cfg_key (str): Its config key (e.g. ``'model.neck'``).
        field (str): The width field of ``cfg`` (e.g. ``'in_channels'``).

    Raises:
        ValueError: Naming both keys and both widths.
    """
    if not isinstance(cfg, dict) or field not in cfg:
        return
    if int(cfg[field]) != int(width):
        raise ValueError(
            f'{width_key} gives width {width} but {cfg_key}.{field} is '
            f'{cfg[field]}: set {cfg_key}.{field}={width} (or a backbone '
            f'arch of width {cfg[field]})')


def backbone_width_key(backbone_cfg: Union[dict, nn.Module]) -> str:
    """``'model.backbone.arch (embed_dims)'`` or the key that set it."""
    if isinstance(backbone_cfg, dict) and isinstance(
            backbone_cfg.get('arch'), dict):
        return 'model.backbone.arch.embed_dims'
    if isinstance(backbone_cfg, dict) and 'arch' in backbone_cfg:
        return f'model.backbone.arch={backbone_cfg["arch"]!r} (embed_dims)'
    return 'model.backbone (embed_dims)'


def check_backbone_init(backbone_init: Optional[str]) -> None:
    if backbone_init not in BACKBONE_INITS:
        raise ValueError(f'model.backbone_init must be one of '
                         f'{BACKBONE_INITS}, got {backbone_init!r}')


def vit_trunc_normal_init_(backbone: nn.Module, std: float = 0.02) -> None:
    """Initialise a ViT as DINO, Mugs and the MGC authors' code do (timm's
    ``_init_weights``): every ``Linear`` weight from a normal of std
    ``std`` truncated to [-2, 2], biases 0; LayerNorm weight 1, bias 0; the
    class token and a LEARNABLE position embedding likewise truncated
    normal (a fixed sin-cos embedding, ``requires_grad=False``, is kept);
    convolutions (the patch embedding) get PyTorch's default
    initialisation.

    mmpretrain's own ViT initialisation differs: its attention projections
    keep PyTorch's default (Kaiming uniform), its MLPs are Xavier uniform
    with bias std 1e-6 (``TransformerEncoderLayer.init_weights``, which
    also overrides a ``TruncNormal`` ``init_cfg`` on the backbone), and
    ``MoCoV3ViT`` uses MoCo v3's Xavier scheme.
    """
    for m in backbone.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            m.reset_parameters()
    for name in ('cls_token', 'pos_embed'):
        p = getattr(backbone, name, None)
        if isinstance(p, nn.Parameter) and p.requires_grad:
            trunc_normal_(p, std=std)


def maybe_init_backbone_(algorithm: nn.Module,
                         backbone_init: Optional[str]) -> bool:
    """Apply ``backbone_init`` to ``algorithm.backbone`` after the default
    initialisation, unless weights come from a checkpoint (a ``Pretrained``
    init_cfg on the algorithm or on the backbone). Returns True when
    applied."""
    if backbone_init is None:
        return False
    if pretrained_init_cfg(algorithm.init_cfg) is not None or \
            pretrained_init_cfg(getattr(algorithm.backbone, 'init_cfg',
                                        None)) is not None:
        return False
    vit_trunc_normal_init_(algorithm.backbone)
    return True


def check_widths(backbone: nn.Module, backbone_cfg: Union[dict, nn.Module],
                 consumers: Sequence[tuple]) -> None:
    """:func:`check_width` of the backbone's ``embed_dims`` against every
    ``(cfg, cfg_key, field)`` of ``consumers``."""
    width = int(backbone.embed_dims)
    key = backbone_width_key(backbone_cfg)
    for cfg, cfg_key, field in consumers:
        check_width(width, key, cfg, cfg_key, field)


__all__ = [
    'BACKBONE_INITS', 'check_width', 'check_widths', 'check_backbone_init',
    'vit_trunc_normal_init_', 'maybe_init_backbone_'
]
