"""Multi-scale feature pyramid from the single-scale taps of a plain ViT."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor


class _ChannelsLastNorm(nn.Module):
    """A LayerNorm over the channels of an ``(B, C, H, W)`` map."""

    def __init__(self, norm_cfg: dict, channels: int) -> None:
        super().__init__()
        self.norm = build_norm_layer(norm_cfg, channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@MODELS.register_module()
class ViTPyramidNeck(BaseModule):
    """Turn 4 stride-16 ViT taps into strides 4, 8, 16, 32.

    The dense-transfer recipe of MGC, iBOT, Mugs and BEiT for a plain ViT:
    the ``i``-th tap (e.g. blocks 3, 5, 7, 11 for detection, 2, 5, 8, 11
    for segmentation) is rescaled by ``scale_factors[i]``:

    - ``4``: ConvTranspose(2x2, s2) - norm - GELU - ConvTranspose(2x2, s2)
    - ``2``: ConvTranspose(2x2, s2)
    - ``1``: identity
    - ``0.5``: MaxPool(2x2, s2)

    Channels stay ``in_channels`` at every scale; a detector's / segmentor's
    own FPN follows. Use from mmdet / mmseg configs as
    ``neck=[dict(type='mmpretrain.ViTPyramidNeck', ...), dict(type='FPN',
    ...)]``.

    Args:
        in_channels (int): Channels of every tap (the ViT width).
        scale_factors (Sequence[float]): One of 4, 2, 1, 0.5 per tap.
            Defaults to ``(4, 2, 1, 0.5)``.
        norm_cfg (dict): Norm between the two deconvolutions of the x4
            branch. Defaults to ``dict(type='BN')`` (configs use SyncBN,
            which mmengine reverts to BN on one device).
        tap_norm_cfg (dict, optional): When given, a fresh channel norm
            (e.g. ``dict(type='LN', eps=1e-6)``) applied to every tap
            before rescaling. To reuse the PRETRAINED final norm on every
            tap instead, set ``norm_all_taps=True`` on
            ``mmpretrain.StrictPretrainedViT``. Defaults to None.
        init_cfg (dict | list, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 scale_factors: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: dict = dict(type='BN'),
                 tap_norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.scale_factors = tuple(scale_factors)
        self.tap_norms = nn.ModuleList()
        self.branches = nn.ModuleList()
        for scale in self.scale_factors:
            self.tap_norms.append(
                _ChannelsLastNorm(tap_norm_cfg, in_channels)
                if tap_norm_cfg is not None else nn.Identity())
            self.branches.append(self._branch(scale, norm_cfg))

    def _branch(self, scale: float, norm_cfg: dict) -> nn.Module:
        c = self.in_channels
        if scale == 4:
            return nn.Sequential(
                nn.ConvTranspose2d(c, c, kernel_size=2, stride=2),
                build_norm_layer(norm_cfg, c)[1], nn.GELU(),
                nn.ConvTranspose2d(c, c, kernel_size=2, stride=2))
        if scale == 2:
            return nn.ConvTranspose2d(c, c, kernel_size=2, stride=2)
        if scale == 1:
            return nn.Identity()
        if scale == 0.5:
            return nn.MaxPool2d(kernel_size=2, stride=2)
        raise ValueError('ViTPyramidNeck: scale_factors entries must be 4, '
                         f'2, 1 or 0.5, got {scale}')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Rescale tap ``i`` by ``scale_factors[i]``."""
        if len(inputs) != len(self.scale_factors):
            raise ValueError(
                f'ViTPyramidNeck got {len(inputs)} taps but has '
                f'{len(self.scale_factors)} scale_factors; set the '
                'backbone out_indices to one tap per scale')
        return tuple(
            branch(norm(x))
            for x, norm, branch in zip(inputs, self.tap_norms, self.branches))
