# Copyright (c) mmmgc contributors.
"""Export the ViT backbone of an mmmgc pretraining checkpoint.

    python tools/model_converters/extract_backbone.py IN OUT \
        [--source online|momentum] [--momentum-prefix PREFIX]
        [--num-heads N] [--trust-checkpoint]

IN is an mmengine checkpoint written by ``tools/train.py`` (MGC, Mugs, or
any mmpretrain self-supervised algorithm whose online backbone is
``backbone.*``). OUT gets ``{'state_dict': {'backbone.<key>': tensor},
'meta': {...}}`` with ``mmpretrain.VisionTransformer`` keys, loadable with
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``.
OUT is a ``.safetensors`` file (tensors plus string metadata, no pickle:
recommended for sharing) when its name ends in ``.safetensors``, else a
``torch.save`` file. ``meta`` records the source, branch, head count
(``num_heads``, read from ``model.backbone.arch`` of the config text that
mmengine stores in the checkpoint, without running it; ``--num-heads``
when the text does not state it) and the ``arch`` dict; the downstream
loaders refuse a model with another head count.

IN is read without running code from it
(:func:`mmmgc.checkpoint.load_checkpoint_file`); ``--trust-checkpoint``
loads a file whose pickle needs other types.

``--source momentum`` exports the EMA teacher instead. Its key prefix is
detected: the one prefix under which every online backbone key exists with
the same shape (``<attr>.module.`` for mmmgc's ``EMATeacher``,
``momentum_encoder.module.0.`` for mmpretrain's MoCo v3); give
``--momentum-prefix`` when several qualify. The exit status is non-zero,
with the keys named, when the backbone is absent or incomplete.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import torch

ANCHOR = 'patch_embed.projection.weight'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export the backbone of an mmmgc checkpoint in '
        'mmpretrain.VisionTransformer key format')
    parser.add_argument('src', help='mmmgc / mmengine training checkpoint')
    parser.add_argument(
        'dst', help='output backbone file (.safetensors or .pth)')
    parser.add_argument(
        '--source',
        choices=['online', 'momentum'],
        default='online',
        help='online backbone (backbone.*) or the momentum / EMA teacher')
    parser.add_argument(
        '--momentum-prefix',
        default=None,
        help='key prefix of the teacher backbone (detected when omitted)')
    parser.add_argument(
        '--num-heads',
        type=int,
        default=None,
        help='attention heads of the backbone (default: from the config '
        'stored in the checkpoint)')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load IN even when its pickle needs types outside the '
        'allow-list (runs code from the file: only for a file you checked)')
    return parser.parse_args(argv)


def _algorithm_from_meta(meta: dict) -> Tuple[Optional[str], Optional[str]]:
    """(model.type, model.backbone.type) from the config text that mmengine
    stores in a checkpoint's meta."""
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None, None
    algo = re.search(r"^model\s*=\s*dict\(\s*type\s*=\s*'([^']+)'", text,
                     re.M | re.S)
    backbone = re.search(
        r"backbone\s*=\s*dict\(\s*[^)]*?type\s*=\s*'"
        r"([^']+)'", text, re.S)
    return (algo.group(1) if algo else None,
            backbone.group(1) if backbone else None)


def find_momentum_prefixes(state_dict: Dict[str, torch.Tensor],
                           online: Dict[str, torch.Tensor]
                           ) -> Tuple[List[str], Dict[str, str]]:
    """Prefixes under which the whole online backbone exists (same shapes).

    Returns:
        tuple[list[str], dict]: the qualifying prefixes, and for every other
        candidate prefix the reason it does not qualify.
    """
    candidates = sorted({
        k[:-len(ANCHOR)]
        for k in state_dict
        if k.endswith(ANCHOR) and not k.startswith('backbone.') and (
            k == ANCHOR or k[:-len(ANCHOR)].endswith('.'))
    })
    good, rejected = [], {}
    for prefix in candidates:
        missing = [k for k in online if prefix + k not in state_dict]
        shapes = [
            k for k in online if prefix +
            k in state_dict and state_dict[prefix + k].shape != online[k].shape
        ]
        if missing or shapes:
            rejected[prefix] = (f'{len(missing)} missing (e.g. '
                                f'{missing[:3]}), {len(shapes)} shape '
                                'mismatches')
        else:
            good.append(prefix)
    return good, rejected


def extract(src: str,
            source: str = 'online',
            momentum_prefix: Optional[str] = None,
            num_heads: Optional[int] = None) -> dict:
    """Build the exported checkpoint dict (see the module docstring).

    Raises:
        ValueError / KeyError: With the offending keys named.
        mmmgc.checkpoint.UntrustedCheckpointError: ``src`` needs types
            outside the allow-list (and is not trusted).
    """
    from mmmgc.checkpoint import (backbone_checkpoint, check_vit_complete,
                                  load_checkpoint_file,
                                  num_heads_from_cfg_text, strip_prefix)
    ckpt = load_checkpoint_file(src, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        keys = list(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt)
        raise KeyError(f'{src} is not an mmengine checkpoint: no '
                       f"'state_dict' entry (top-level keys: {keys}); for "
                       'authors\' / timm files use convert_official.py')
    state_dict = ckpt['state_dict']
    online = strip_prefix(state_dict, 'backbone.', src)
    check_vit_complete(online, f'{src} backbone.*')
    if source == 'online':
        prefix = 'backbone.'
        weights = online
    else:
        if momentum_prefix is None:
            good, rejected = find_momentum_prefixes(state_dict, online)
            if len(good) != 1:
                what = ('no prefix holds'
                        if not good else f'{len(good)} prefixes hold')
                raise KeyError(
                    f'{src}: {what} a complete copy of the online backbone '
                    f'(qualifying: {good}; rejected: {rejected}); pass '
                    '--momentum-prefix')
            prefix = good[0]
        else:
            prefix = momentum_prefix
        weights = strip_prefix(state_dict, prefix, src)
        extra = sorted(set(weights) - set(online))
        missing = sorted(set(online) - set(weights))
        if missing:
            raise KeyError(f'{src}: teacher prefix {prefix!r} lacks '
                           f'{len(missing)} backbone key(s): {missing[:10]}')
        if extra:
            raise KeyError(
                f'{src}: teacher prefix {prefix!r} has {len(extra)} key(s) '
                f'the online backbone lacks: {extra[:10]}; give the prefix '
                'of the backbone itself with --momentum-prefix')
        check_vit_complete(weights, f'{src} {prefix}*')
    src_meta = ckpt.get('meta', {}) or {}
    algorithm, backbone_type = _algorithm_from_meta(src_meta)
    cfg_heads = num_heads_from_cfg_text(src_meta.get('cfg'))
    if num_heads is not None and cfg_heads is not None and \
            num_heads != cfg_heads:
        raise ValueError(f'{src}: --num-heads {num_heads} contradicts the '
                         f'config stored in the checkpoint ({cfg_heads} '
                         'heads)')
    heads = num_heads if num_heads is not None else cfg_heads
    meta = dict(
        converted_by='tools/model_converters/extract_backbone.py',
        source_file=osp.abspath(src),
        source_branch=source,
        source_prefix=prefix,
        algorithm=algorithm,
        source_backbone_type=backbone_type,
        source_epoch=src_meta.get('epoch'),
        source_iter=src_meta.get('iter'),
        source_num_keys=len(state_dict),
        exported_num_keys=len(weights),
        dropped_num_keys=len(state_dict) - len(weights),
        num_heads_source=('--num-heads' if num_heads is not None else
                          'model.backbone.arch of the stored config'
                          if cfg_heads is not None else 'unknown'))
    return backbone_checkpoint(weights, meta, num_heads=heads)


def main(argv=None) -> int:
    args = parse_args(argv)
    import pickle

    from mmmgc.checkpoint import save_checkpoint_file, set_trust_checkpoints
    if args.trust_checkpoint:
        set_trust_checkpoints(True)
    try:
        out = extract(args.src, args.source, args.momentum_prefix,
                      args.num_heads)
    except (KeyError, ValueError, FileNotFoundError,
            pickle.UnpicklingError) as err:
        print(f'extract_backbone: ERROR: {err}', file=sys.stderr)
        return 1
    meta = out['meta']
    if meta['num_heads'] is None:
        print(
            f'extract_backbone: WARNING: the config stored in {args.src} '
            'does not state model.backbone.arch num_heads; the export '
            'records no head count (give --num-heads)',
            file=sys.stderr)
    save_checkpoint_file(out, args.dst)
    print(f'extract_backbone: wrote {args.dst}: {meta["exported_num_keys"]} '
          f'tensors ({meta["vit"]["num_params"]} parameters) from '
          f'{meta["source_branch"]} branch {meta["source_prefix"]!r} of '
          f'{meta["algorithm"]} checkpoint {args.src}; '
          f'{meta["num_heads"]} heads; '
          f'{meta["dropped_num_keys"]} other keys dropped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
