"""Concatenate the per-block features of a ViT into one vector (the
last-4-blocks linear-probe feature of DINO, iBOT and Mugs)."""
from typing import Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor


def concat_layer_features(feats: Sequence[Tensor]) -> Tensor:
    """Concatenate per-layer features along the channel axis.

    Args:
        feats (Sequence[Tensor]): ``(B, C_i)`` vectors (e.g. class tokens)
            or ``(B, C_i, H, W)`` maps, which are global-average-pooled.

    Returns:
        Tensor: ``(B, sum C_i)``, in the order given.
    """
    if len(feats) == 0:
        raise ValueError('concat_layer_features: no features given')
    vecs = []
    for i, f in enumerate(feats):
        if f.dim() == 4:
            f = f.mean(dim=(2, 3))
        elif f.dim() != 2:
            raise ValueError(
                f'concat_layer_features: feature {i} has shape '
                f'{tuple(f.shape)}; expected (B, C) or (B, C, H, W) '
                "(set the backbone's out_type to 'cls_token' or "
                "'featmap')")
        vecs.append(f)
    return torch.cat(vecs, dim=1)


@MODELS.register_module()
class MultiLayerConcatNeck(BaseModule):
    """Concatenate the last ``num_layers`` backbone outputs.

    With ``StrictPretrainedViT(out_indices=[-4, -3, -2, -1],
    out_type='cls_token', norm_all_taps=True)`` (each tap through the
    pretrained final norm) this gives the 1536-d ViT-S feature of the
    DINO / Mugs linear probe. Feature maps are average-pooled first (MGC's
    patch-token features). The neck has no parameters.

    Args:
        num_layers (int): How many of the last backbone outputs to use;
            the backbone must return at least that many. Defaults to 4.
    """

    def __init__(self, num_layers: int = 4) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError('MultiLayerConcatNeck: neck.num_layers must '
                             f'be >= 1, got {num_layers}')
        self.num_layers = num_layers

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        """Return a 1-tuple with the ``(B, D)`` concatenated feature."""
        if len(inputs) < self.num_layers:
            raise ValueError(
                f'MultiLayerConcatNeck: neck.num_layers={self.num_layers} '
                f'but the backbone returned {len(inputs)} outputs; set '
                f'backbone.out_indices to the last {self.num_layers} '
                'blocks')
        return (concat_layer_features(inputs[-self.num_layers:]), )
