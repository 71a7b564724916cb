# Copyright (c) mmmgc contributors.
"""Convert released ViT checkpoints to mmmgc's backbone format.

    python tools/model_converters/convert_official.py IN OUT \
        --format mgc|mugs|timm [--branch BRANCH]

- ``mgc``: the MGC authors' checkpoints (``[module.]base_encoder.*`` /
  ``[module.]momentum_encoder.*``, timm-style ViT keys). ``--branch base``
  (default) or ``momentum``. The projector / predictor heads and the
  encoder's ``head.*`` are dropped. NOTE: the authors' ViT-S uses 8 heads
  (standard ViT-S: 6); the head count is not visible in the weights, so set
  ``arch=dict(..., num_heads=8)`` in the downstream config for these files.
- ``mugs``: Mugs releases: a full checkpoint (``teacher`` / ``student``
  dicts with ``backbone.*``; ``--branch teacher`` (default) or
  ``student``) or an exported backbone (flat keys). The local-group
  aggregator ``relation_blocks.*`` is dropped.
- ``timm``: timm / DeiT ViT weights (``model`` / ``state_dict`` entry or a
  bare dict); ``head.*`` and ``fc_norm.*`` are dropped. Distilled DeiT
  (``dist_token``) has no mmpretrain counterpart and is refused.

OUT gets ``{'state_dict': {'backbone.<mmpretrain key>': tensor}, 'meta':
{...}}``. Any key that cannot be mapped stops the conversion (non-zero
exit, keys named).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

import torch

BRANCHES = {
    'mgc': {'base': 'base_encoder.', 'momentum': 'momentum_encoder.'},
    'mugs': {'teacher': 'teacher', 'student': 'student'},
    'timm': {'model': None},
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert MGC / Mugs / timm ViT checkpoints to '
        'mmpretrain.VisionTransformer keys')
    parser.add_argument('src', help='released checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint (.pth)')
    parser.add_argument('--format', required=True, choices=sorted(BRANCHES))
    parser.add_argument(
        '--branch',
        default=None,
        help='mgc: base|momentum (default base); mugs: teacher|student '
        '(default teacher); timm: model')
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


def convert(src: str, fmt: str, branch: str = None) -> dict:
    """Build the converted checkpoint dict (see the module docstring).

    Raises:
        KeyError / ValueError: With the offending keys named.
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmmgc.models.utils.vit_convert import (TIMM_HEAD_PREFIXES,
                                                backbone_checkpoint,
                                                strip_prefix,
                                                timm_to_mmpretrain_vit)
    if fmt not in BRANCHES:
        raise ValueError(f'--format must be one of {sorted(BRANCHES)}')
    branch = branch or next(iter(BRANCHES[fmt]))
    if branch not in BRANCHES[fmt]:
        raise ValueError(f'--branch {branch!r} is not valid for --format '
                         f'{fmt}; choose from {sorted(BRANCHES[fmt])}')
    ckpt = _load_checkpoint(src, map_location='cpu')
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
    meta = dict(
        converted_by='tools/model_converters/convert_official.py',
        source_file=osp.abspath(src),
        source_format=fmt,
        source_branch=branch,
        source_num_keys=len(sd),
        exported_num_keys=len(converted),
        dropped_num_keys=len(dropped),
        dropped_groups=dropped_groups)
    if fmt == 'mgc':
        meta['note'] = ('MGC authors\' ViT-S has 8 attention heads: use '
                        'num_heads=8 in the downstream arch')
    return backbone_checkpoint(converted, meta)


def main(argv=None) -> int:
    args = parse_args(argv)
    import mmmgc  # noqa: F401  (torch.load shim)
    try:
        out = convert(args.src, args.format, args.branch)
    except (KeyError, ValueError, FileNotFoundError) as err:
        print(f'convert_official: ERROR: {err}', file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(out, args.dst)
    meta = out['meta']
    print(f'convert_official: wrote {args.dst}: {meta["exported_num_keys"]}'
          f' tensors from {meta["source_format"]} ({meta["source_branch"]})'
          f' {args.src}; dropped {meta["dropped_num_keys"]} keys '
          f'({", ".join(meta["dropped_groups"]) or "none"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
