"""Pure key mapping between timm-style and mmpretrain ViT state dicts.

One place for the renaming that every export and conversion path uses
(``tools/model_converters/extract_backbone.py`` and
``tools/model_converters/convert_official.py``). Both layouts store the
fused ``qkv`` projection as ``[3 * C, C]`` in (q, k, v) order, the
position embedding as ``[1, 1 + N, C]`` with the CLS slot first and the
CLS token as ``[1, 1, C]``, so every tensor keeps its shape; only names
change:

==============================  ======================================
timm / DeiT / MoCo v3 / DINO     ``mmpretrain.VisionTransformer``
==============================  ======================================
``cls_token``, ``pos_embed``    unchanged
``patch_embed.proj.*``          ``patch_embed.projection.*``
``blocks.N.norm1.*``            ``layers.N.ln1.*``
``blocks.N.attn.qkv.*``         ``layers.N.attn.qkv.*``
``blocks.N.attn.proj.*``        ``layers.N.attn.proj.*``
``blocks.N.ls1.gamma``          ``layers.N.attn.gamma1.weight``
``blocks.N.norm2.*``            ``layers.N.ln2.*``
``blocks.N.mlp.fc1.*``          ``layers.N.ffn.layers.0.0.*``
``blocks.N.mlp.fc2.*``          ``layers.N.ffn.layers.1.*``
``blocks.N.ls2.gamma``          ``layers.N.ffn.gamma2.weight``
``norm.*``                      ``ln1.*`` (the final norm)
==============================  ======================================

Classifier / projector heads (``head.*``, ``head_dist.*``, ``fc_norm.*``)
are dropped on request. Anything else (distillation or register tokens,
q/k norms, a pre-norm) has no place in ``mmpretrain.VisionTransformer`` and
is reported, never silently dropped.
"""
import re
from typing import Dict, Iterable, List, Optional, Tuple

import torch

__all__ = [
    'ViTKeyError', 'timm_to_mmpretrain_vit', 'mmpretrain_to_timm_vit',
    'strip_prefix', 'vit_depth', 'check_vit_complete', 'vit_summary',
    'backbone_checkpoint', 'TIMM_HEAD_PREFIXES'
]

#: Key prefixes of classifier / projector heads in timm-style checkpoints.
TIMM_HEAD_PREFIXES = ('head.', 'head_dist.', 'fc_norm.')

# (timm regex, mmpretrain template); groups are block indices / suffixes.
_TIMM_TO_MM: List[Tuple[str, str]] = [
    (r'^cls_token$', 'cls_token'),
    (r'^pos_embed$', 'pos_embed'),
    (r'^patch_embed\.proj\.(weight|bias)$', r'patch_embed.projection.\1'),
    (r'^blocks\.(\d+)\.norm1\.(weight|bias)$', r'layers.\1.ln1.\2'),
    (r'^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$', r'layers.\1.attn.qkv.\2'),
    (r'^blocks\.(\d+)\.attn\.proj\.(weight|bias)$', r'layers.\1.attn.proj.\2'),
    (r'^blocks\.(\d+)\.ls1\.gamma$', r'layers.\1.attn.gamma1.weight'),
    (r'^blocks\.(\d+)\.norm2\.(weight|bias)$', r'layers.\1.ln2.\2'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$',
     r'layers.\1.ffn.layers.0.0.\2'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$',
     r'layers.\1.ffn.layers.1.\2'),
    (r'^blocks\.(\d+)\.ls2\.gamma$', r'layers.\1.ffn.gamma2.weight'),
    (r'^norm\.(weight|bias)$', r'ln1.\1'),
]

_MM_TO_TIMM: List[Tuple[str, str]] = [
    (r'^cls_token$', 'cls_token'),
    (r'^pos_embed$', 'pos_embed'),
    (r'^patch_embed\.projection\.(weight|bias)$', r'patch_embed.proj.\1'),
    (r'^layers\.(\d+)\.ln1\.(weight|bias)$', r'blocks.\1.norm1.\2'),
    (r'^layers\.(\d+)\.attn\.qkv\.(weight|bias)$', r'blocks.\1.attn.qkv.\2'),
    (r'^layers\.(\d+)\.attn\.proj\.(weight|bias)$', r'blocks.\1.attn.proj.\2'),
    (r'^layers\.(\d+)\.attn\.gamma1\.weight$', r'blocks.\1.ls1.gamma'),
    (r'^layers\.(\d+)\.ln2\.(weight|bias)$', r'blocks.\1.norm2.\2'),
    (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.(weight|bias)$',
     r'blocks.\1.mlp.fc1.\2'),
    (r'^layers\.(\d+)\.ffn\.layers\.1\.(weight|bias)$',
     r'blocks.\1.mlp.fc2.\2'),
    (r'^layers\.(\d+)\.ffn\.gamma2\.weight$', r'blocks.\1.ls2.gamma'),
    (r'^ln1\.(weight|bias)$', r'norm.\1'),
]


class ViTKeyError(KeyError):
    """A state dict does not have the keys of the expected ViT layout."""

    def __str__(self) -> str:  # KeyError quotes its message; do not.
        return str(self.args[0]) if self.args else ''


def _short(keys: Iterable[str], limit: int = 12) -> str:
    keys = sorted(keys)
    text = ', '.join(keys[:limit])
    if len(keys) > limit:
        text += f', ... ({len(keys)} in all)'
    return text


def _rename(state_dict: Dict[str, torch.Tensor], rules: List[Tuple[str, str]],
            drop_prefixes: Tuple[str, ...],
            what: str) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    out: Dict[str, torch.Tensor] = {}
    dropped: List[str] = []
    unknown: List[str] = []
    for key, value in state_dict.items():
        if key.startswith(drop_prefixes):
            dropped.append(key)
            continue
        for pattern, template in rules:
            if re.match(pattern, key):
                out[re.sub(pattern, template, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ViTKeyError(
            f'{what}: {len(unknown)} key(s) have no counterpart in the '
            f'target ViT layout: {_short(unknown)}')
    return out, dropped


def timm_to_mmpretrain_vit(
    state_dict: Dict[str, torch.Tensor],
    drop_prefixes: Tuple[str, ...] = TIMM_HEAD_PREFIXES,
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Rename a timm-style ViT state dict to ``mmpretrain.VisionTransformer``
    keys.

    Args:
        state_dict (dict): timm-style keys (``blocks.N...``), no prefix.
        drop_prefixes (tuple[str]): Keys starting with these are dropped
            (classifier / projector heads). Defaults to
            :data:`TIMM_HEAD_PREFIXES`.

    Returns:
        tuple[dict, list[str]]: The renamed state dict (same tensors) and
        the dropped keys.

    Raises:
        ViTKeyError: When a key matches no rule (named in the message), or
            the result lacks the core ViT keys.
    """
    out, dropped = _rename(state_dict, _TIMM_TO_MM, tuple(drop_prefixes),
                           'timm -> mmpretrain ViT')
    check_vit_complete(out, 'timm -> mmpretrain ViT')
    return out, dropped


def mmpretrain_to_timm_vit(state_dict: Dict[str, torch.Tensor]
                           ) -> Dict[str, torch.Tensor]:
    """Rename ``mmpretrain.VisionTransformer`` keys to timm-style keys (the
    inverse of :func:`timm_to_mmpretrain_vit`).

    Raises:
        ViTKeyError: When a key matches no rule (named in the message).
    """
    out, _ = _rename(state_dict, _MM_TO_TIMM, (), 'mmpretrain -> timm ViT')
    return out


def vit_depth(state_dict: Dict[str, torch.Tensor]) -> int:
    """Number of transformer layers in an mmpretrain-format state dict."""
    ids = {
        int(m.group(1))
        for k in state_dict
        for m in [re.match(r'^layers\.(\d+)\.', k)] if m
    }
    return max(ids) + 1 if ids else 0


def check_vit_complete(state_dict: Dict[str, torch.Tensor], what: str) -> None:
    """Check an mmpretrain-format ViT state dict is complete: the stem keys
    exist and every layer ``0 .. depth - 1`` has its tensors.

    Raises:
        ViTKeyError: Naming ``what`` and the missing keys.
    """
    depth = vit_depth(state_dict)
    need = ['pos_embed', 'patch_embed.projection.weight']
    per_layer = [
        'ln1.weight', 'ln1.bias', 'attn.qkv.weight', 'attn.proj.weight',
        'attn.proj.bias', 'ln2.weight', 'ln2.bias', 'ffn.layers.0.0.weight',
        'ffn.layers.0.0.bias', 'ffn.layers.1.weight', 'ffn.layers.1.bias'
    ]
    for i in range(depth):
        need += [f'layers.{i}.{k}' for k in per_layer]
    missing = [k for k in need if k not in state_dict]
    if depth == 0 or missing:
        raise ViTKeyError(
            f'{what}: not a complete ViT (depth {depth}); missing '
            f'{_short(missing) if missing else "every layers.N.* key"}')


def strip_prefix(state_dict: Dict[str, torch.Tensor],
                 prefix: str,
                 source: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The entries whose key starts with ``prefix``, with it removed.

    Raises:
        ViTKeyError: When no key starts with ``prefix`` (names a few of the
            keys that exist, and ``source`` when given).
    """
    out = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }
    if not out:
        where = f' in {source}' if source else ''
        raise ViTKeyError(
            f'no key starts with {prefix!r}{where}; keys look like: '
            f'{_short(list(state_dict), limit=6)}')
    return out


def vit_summary(state_dict: Dict[str, torch.Tensor]) -> dict:
    """Architecture facts readable from an mmpretrain-format ViT state dict
    (the head count is NOT: qkv has the same shape for any count)."""
    pos = state_dict.get('pos_embed')
    proj = state_dict.get('patch_embed.projection.weight')
    fc1 = state_dict.get('layers.0.ffn.layers.0.0.weight')
    return dict(
        num_layers=vit_depth(state_dict),
        embed_dims=int(proj.shape[0]) if proj is not None else None,
        patch_size=int(proj.shape[-1]) if proj is not None else None,
        feedforward_channels=int(fc1.shape[0]) if fc1 is not None else None,
        pos_embed_tokens=int(pos.shape[1]) if pos is not None else None,
        has_cls_token='cls_token' in state_dict,
        has_final_norm='ln1.weight' in state_dict,
        num_tensors=len(state_dict),
        num_params=int(sum(v.numel() for v in state_dict.values())))


def backbone_checkpoint(state_dict: Dict[str, torch.Tensor],
                        meta: dict,
                        prefix: str = 'backbone.',
                        num_heads: Optional[int] = None) -> dict:
    """The file content written by mmmgc's export / conversion tools:
    ``{'state_dict': {prefix + key: tensor}, 'meta': meta + summary}``.

    Checks that ``state_dict`` is a complete mmpretrain-format ViT first.
    With ``num_heads`` (not readable from the weights), ``meta`` records
    it as ``num_heads`` and the whole ``arch`` (``embed_dims``,
    ``num_layers``, ``num_heads``, ``feedforward_channels``: the
    ``mmpretrain.VisionTransformer`` arch dict that rebuilds the network);
    the loaders refuse a model with another head count.
    """
    check_vit_complete(state_dict, meta.get('source_file', 'backbone'))
    meta = dict(meta)
    meta['vit'] = vit_summary(state_dict)
    meta['key_prefix'] = prefix
    meta['num_heads'] = None if num_heads is None else int(num_heads)
    if num_heads is not None:
        embed = meta['vit']['embed_dims']
        if embed % int(num_heads):
            raise ValueError(f'num_heads={num_heads} does not divide the '
                             f'width {embed} of the ViT')
        meta['arch'] = dict(
            embed_dims=embed,
            num_layers=meta['vit']['num_layers'],
            num_heads=int(num_heads),
            feedforward_channels=meta['vit']['feedforward_channels'])
    return dict(
        state_dict={
            prefix + k: v.detach().clone().contiguous()
            for k, v in state_dict.items()
        },
        meta=meta)
