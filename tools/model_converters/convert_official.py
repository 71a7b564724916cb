# Copyright (c) mmmgc contributors.
"""Convert released ViT checkpoints to mmmgc's backbone format.

    python tools/model_converters/convert_official.py IN OUT \
        --format mgc|mugs|timm [--branch BRANCH] [--num-heads N]
        [--trust-checkpoint]

- ``mgc``: the MGC authors' checkpoints (``[module.]base_encoder.*`` /
  ``[module.]momentum_encoder.*``, timm-style ViT keys). ``--branch base``
  (default) or ``momentum``. The projector / predictor heads and the
  encoder's ``head.*`` are dropped. The authors' ViT-S uses 8 heads
  (standard ViT-S: 6); ``meta['num_heads']`` records 8 for these files, and
  the downstream loaders refuse them in a 6-head model (override with
  ``--cfg-options model.backbone.arch.num_heads=8``).
- ``mugs``: Mugs releases: a full checkpoint (``teacher`` / ``student``
  dicts with ``backbone.*``; ``--branch teacher`` (default) or
  ``student``) or an exported backbone (flat keys). The local-group
  aggregator ``relation_blocks.*`` is dropped.
- ``timm``: timm / DeiT ViT weights (``model`` / ``state_dict`` entry or a
  bare dict); ``head.*`` and ``fc_norm.*`` are dropped. Distilled DeiT
  (``dist_token``) has no mmpretrain counterpart and is refused.

OUT gets ``{'state_dict': {'backbone.<mmpretrain key>': tensor}, 'meta':
{...}}``, as a ``.safetensors`` file (tensors plus string metadata, no
pickle: recommended for sharing) when OUT ends in ``.safetensors``, else
with ``torch.save``. ``meta`` records the source file, format and branch,
the head count (``num_heads``) and the ``arch`` dict. The head count is not
visible in the weights: it is 8 for ``mgc``; for ``mugs`` it is read from
the release's ``args.arch`` when present; otherwise (and for ``timm``) the
standard count for the width (384 -> 6, 768 -> 12, 1024 -> 16) is assumed,
and ``--num-heads`` overrides it. Any key that cannot be mapped stops the
conversion (non-zero exit, keys named).

IN is read without running code from it
(:func:`mmmgc.checkpoint.load_checkpoint_file`): a pickle that needs any
type beyond tensors, containers, numpy arrays and ``argparse.Namespace`` is
refused unless ``--trust-checkpoint`` is given.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import torch

BRANCHES = {
    'mgc': {
        'base': 'base_encoder.',
        'momentum': 'momentum_encoder.'
    },
    'mugs': {
        'teacher': 'teacher',
        'student': 'student'
    },
    'timm': {
        'model': None
    },
}
#: The MGC authors' released ViT-S has 8 attention heads.
MGC_NUM_HEADS = 8
#: Head counts of the Mugs / DINO ``args.arch`` names.
MUGS_ARCH_HEADS = {
    'vit_tiny': 3,
    'vit_small': 6,
    'vit_base': 12,
    'vit_large': 16
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert MGC / Mugs / timm ViT checkpoints to '
        'mmpretrain.VisionTransformer keys')
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument(
        'dst', help='output backbone file (.safetensors or .pth)')
    parser.add_argument('--format', required=True, choices=sorted(BRANCHES))
    parser.add_argument(
        '--branch',
        default=None,
        help='mgc: base|momentum (default base); mugs: teacher|student '
        '(default teacher); timm: model')
    parser.add_argument(
        '--num-heads',
        type=int,
        default=None,
        help='attention heads of the source ViT, recorded in the output '
        '(default: 8 for mgc, args.arch or the standard count for the width '
        'otherwise)')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load IN even when its pickle needs types outside the '
        'allow-list (runs code from the file: only for a file you checked)')
    return parser.parse_args(argv)


def _strip_module(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    if sd and all(k.startswith('module.') for k in sd):
        return {k[len('module.'):]: v for k, v in sd.items()}
    return sd


def _first_dict(ckpt: dict, names: Tuple[str, ...]) -> dict:
    for name in names:
        if isinstance(ckpt.get(name), dict):
            return ckpt[name]
    return ckpt


def source_num_heads(ckpt: dict,
                     fmt: str,
                     embed_dims: int,
                     num_heads: Optional[int] = None
                     ) -> Tuple[Optional[int], str]:
    """The head count of the source ViT and where it comes from (None when
    it cannot be told: a non-standard width without ``--num-heads``)."""
    from mmmgc.checkpoint import STANDARD_NUM_HEADS
    if num_heads is not None:
        return int(num_heads), '--num-heads'
    if fmt == 'mgc':
        return MGC_NUM_HEADS, "the MGC authors' ViT (8 heads)"
    args = ckpt.get('args')
    arch = getattr(args, 'arch', None) if args is not None else None
    if fmt == 'mugs' and arch in MUGS_ARCH_HEADS:
        return MUGS_ARCH_HEADS[arch], f'args.arch={arch!r}'
    if embed_dims in STANDARD_NUM_HEADS:
        return (STANDARD_NUM_HEADS[embed_dims],
                f'standard ViT with width {embed_dims}')
    return None, (f'unknown: a {embed_dims}-wide ViT is not a standard '
                  'one; give --num-heads')


def convert(src: str,
            fmt: str,
            branch: str = None,
            num_heads: Optional[int] = None) -> dict:
    """Build the converted checkpoint dict (see the module docstring).

    Raises:
        KeyError / ValueError: With the offending keys named.
        mmmgc.checkpoint.UntrustedCheckpointError: ``src`` needs types
            outside the allow-list (and is not trusted).
    """
    from mmmgc.checkpoint import (TIMM_HEAD_PREFIXES, backbone_checkpoint,
                                  load_checkpoint_file, strip_prefix,
                                  timm_to_mmpretrain_vit)
    if fmt not in BRANCHES:
        raise ValueError(f'--format must be one of {sorted(BRANCHES)}')
    branch = branch or next(iter(BRANCHES[fmt]))
    if branch not in BRANCHES[fmt]:
        raise ValueError(f'--branch {branch!r} is not valid for --format '
                         f'{fmt}; choose from {sorted(BRANCHES[fmt])}')
    ckpt = load_checkpoint_file(src, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise ValueError(f'{src} holds a {type(ckpt).__name__}, not a dict')
    drop: Tuple[str, ...] = TIMM_HEAD_PREFIXES
    if fmt == 'mgc':
        sd = _strip_module(_first_dict(ckpt, ('state_dict', 'model')))
        sd = strip_prefix(sd, BRANCHES['mgc'][branch], src)
    elif fmt == 'mugs':
        sd = ckpt[branch] if isinstance(ckpt.get(branch), dict) else \
            _first_dict(ckpt, ('state_dict', 'model'))
        sd = _strip_module(sd)
        if any(k.startswith('backbone.') for k in sd):
            sd = strip_prefix(sd, 'backbone.', src)
        elif branch == 'student' and 'student' not in ckpt:
            raise KeyError(f'{src} has no student entry (keys: '
                           f'{sorted(ckpt)[:8]})')
        drop = drop + ('relation_blocks.', )
    else:
        sd = _strip_module(_first_dict(ckpt, ('model', 'state_dict')))
    sd = {k: v for k, v in sd.items() if torch.is_tensor(v)}
    converted, dropped = timm_to_mmpretrain_vit(sd, drop_prefixes=drop)
    dropped_groups: List[str] = sorted({k.split('.')[0] for k in dropped})
    heads, heads_from = source_num_heads(
        ckpt, fmt, int(converted['patch_embed.projection.weight'].shape[0]),
        num_heads)
    meta = dict(
        converted_by='tools/model_converters/convert_official.py',
        source_file=osp.abspath(src),
        source_format=fmt,
        source_branch=branch,
        source_num_keys=len(sd),
        exported_num_keys=len(converted),
        dropped_num_keys=len(dropped),
        dropped_groups=dropped_groups,
        num_heads_source=heads_from)
    if fmt == 'mgc':
        meta['note'] = ('MGC authors\' ViT-S has 8 attention heads: use '
                        'num_heads=8 in the downstream arch')
    return backbone_checkpoint(converted, meta, num_heads=heads)


def main(argv=None) -> int:
    args = parse_args(argv)
    import pickle

    from mmmgc.checkpoint import save_checkpoint_file, set_trust_checkpoints
    if args.trust_checkpoint:
        set_trust_checkpoints(True)
    try:
        out = convert(args.src, args.format, args.branch, args.num_heads)
    except (KeyError, ValueError, FileNotFoundError,
            pickle.UnpicklingError) as err:
        print(f'convert_official: ERROR: {err}', file=sys.stderr)
        return 1
    meta = out['meta']
    if meta['num_heads'] is None:
        print(
            'convert_official: WARNING: head count '
            f'{meta["num_heads_source"]}'
            '; the output records none',
            file=sys.stderr)
    save_checkpoint_file(out, args.dst)
    print(f'convert_official: wrote {args.dst}: {meta["exported_num_keys"]}'
          f' tensors from {meta["source_format"]} ({meta["source_branch"]})'
          f' {args.src}; {meta["num_heads"]} heads '
          f'({meta["num_heads_source"]}); dropped '
          f'{meta["dropped_num_keys"]} keys '
          f'({", ".join(meta["dropped_groups"]) or "none"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
