"""The downstream ViT backbone: ``mmpretrain.VisionTransformer`` that loads
its pretrained weights strictly (and can normalise every tap)."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from torch import Tensor

from ...checkpoint import StrictPretrainedInitMixin


@MODELS.register_module()
class StrictPretrainedViT(StrictPretrainedInitMixin, VisionTransformer):
    """``mmpretrain.VisionTransformer`` whose ``init_cfg=dict(type=
    'Pretrained', checkpoint=..., prefix='backbone.')`` is loaded strictly.

    Any backbone parameter missing from the checkpoint, any checkpoint key
    (under ``prefix`` or not) that the backbone does not use, and any shape
    mismatch other than ``pos_embed`` (resized bicubically) raises
    :class:`mmmgc.checkpoint.BackboneCheckpointError` naming the keys.
    Checkpoint keys are those of ``mmpretrain.VisionTransformer`` (as
    written by ``tools/model_converters/extract_backbone.py`` and
    ``convert_official.py``, under ``backbone.``), in a ``.pth`` or
    ``.safetensors`` file read by
    :func:`mmmgc.checkpoint.load_checkpoint_file` (no code from the file
    runs). A file whose recorded head count (``meta['num_heads']``)
    differs from ``arch``'s raises :class:`mmmgc.checkpoint.HeadCountError`
    naming both counts and the override
    ``model.backbone.arch.num_heads=N``.

    Args:
        arch, img_size, patch_size, in_channels, out_indices, drop_rate,
            drop_path_rate, qkv_bias, norm_cfg, final_norm, out_type,
            with_cls_token, frozen_stages, interpolate_mode,
            layer_scale_init_value, patch_cfg, layer_cfgs, pre_norm,
            init_cfg: As in ``mmpretrain.VisionTransformer``.
        norm_all_taps (bool): Apply the pretrained final norm ``ln1`` to
            every output of ``out_indices`` (as MGC's and DINO's dense
            transfer code do), not only after the last block. Needs
            ``final_norm=True``. Defaults to False.
        allowed_missing_keys (Sequence[str]): ``fnmatch`` patterns of
            backbone keys allowed to keep their random initialisation
            (e.g. ``['ln2.*']`` for ``out_type='avg_featmap'``). Defaults
            to none.
            With ``with_cls_token=False`` the checkpoint's ``cls_token`` is
            the one key allowed to go unused.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'small',
                 img_size: Union[int, Tuple[int, int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 final_norm: bool = True,
                 out_type: str = 'cls_token',
                 with_cls_token: bool = True,
                 frozen_stages: int = -1,
                 interpolate_mode: str = 'bicubic',
                 layer_scale_init_value: float = 0.,
                 patch_cfg: dict = dict(),
                 layer_cfgs: Union[dict, Sequence[dict]] = dict(),
                 pre_norm: bool = False,
                 norm_all_taps: bool = False,
                 allowed_missing_keys: Sequence[str] = (),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        if norm_all_taps and not final_norm:
            raise ValueError('StrictPretrainedViT: norm_all_taps=True needs '
                             'final_norm=True (the norm it applies is ln1)')
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            in_channels=in_channels,
            out_indices=list(out_indices)
            if not isinstance(out_indices, int) else out_indices,
            drop_rate=drop_rate,
            drop_path_rate=drop_path_rate,
            qkv_bias=qkv_bias,
            norm_cfg=norm_cfg,
            final_norm=final_norm,
            out_type=out_type,
            with_cls_token=with_cls_token,
            frozen_stages=frozen_stages,
            interpolate_mode=interpolate_mode,
            layer_scale_init_value=layer_scale_init_value,
            patch_cfg=patch_cfg,
            layer_cfgs=layer_cfgs,
            pre_norm=pre_norm,
            init_cfg=init_cfg)
        self.norm_all_taps = norm_all_taps
        self.allowed_missing_keys = tuple(allowed_missing_keys)
        # a ViT built without a CLS token (e.g. ViTPose) deliberately drops
        # the checkpoint's; pos_embed's CLS slot is dropped on load too
        self.allowed_unused_keys = () if with_cls_token else ('cls_token', )

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Drop a checkpoint ``pos_embed``'s CLS slot for a ViT without a
        CLS token BEFORE resizing (mmpretrain only drops it when the grids
        already match, e.g. not for a 224 px checkpoint into ViTPose's
        256 x 192)."""
        name = prefix + 'pos_embed'
        if not self.with_cls_token and name in state_dict:
            n = state_dict[name].shape[1]
            if math.isqrt(n - 1)**2 == n - 1 and math.isqrt(n)**2 != n:
                state_dict[name] = state_dict[name][:, 1:]
        super()._prepare_pos_embed(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward; one output per entry of ``out_indices``, in that order
        (an index may repeat, e.g. to feed a 4-scale neck from a 2-layer
        test ViT). The last block's output goes through ``ln1`` when
        ``final_norm``; with ``norm_all_taps`` every tap does."""
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
        x = self.pre_norm(self.drop_after_pos(x))
        wanted = set(self.out_indices)
        taps = {}
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == last and self.final_norm:
                x = self.ln1(x)
            if i in wanted:
                tap = self.ln1(x) if (self.norm_all_taps and i != last) else x
                taps[i] = self._format_output(tap, patch_resolution)
        return tuple(taps[i] for i in self.out_indices)
