"""An ``mmpretrain.VisionTransformer`` whose final LayerNorm is applied to
every tapped block output (DINO's ``get_intermediate_layers``), not only to
the last block."""
from typing import Tuple

import torch
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class NormedTapsVisionTransformer(VisionTransformer):
    """ViT that passes each output of ``out_indices`` through ``ln1``.

    mmpretrain's ``VisionTransformer`` applies its final norm only after the
    last block, so earlier taps are un-normalised. Frozen-feature protocols
    (DINO / iBOT / Mugs linear probe: the class tokens of the last 4 blocks,
    each through the pretrained final norm, concatenated) need the
    pretrained norm on every tap. The residual stream itself is unchanged,
    and the parameters (hence checkpoint keys) are exactly those of
    ``VisionTransformer``, so a strict load still works.

    Constructor arguments are exactly those of
    :class:`mmpretrain.models.backbones.VisionTransformer` (inherited);
    ``final_norm`` must stay ``True``.
    """

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward; each tapped output is normalised by ``ln1``."""
        if not self.final_norm:
            raise ValueError('NormedTapsVisionTransformer needs '
                             'final_norm=True (backbone.final_norm): it '
                             'applies the final norm ln1 to every tap')
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        x = self.pre_norm(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(self._format_output(self.ln1(x),
                                                patch_resolution))
        return tuple(outs)
