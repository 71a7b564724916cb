# Copyright (c) mmmgc contributors.
"""Check that a backbone checkpoint fits a downstream config, exactly.

    python tools/misc/check_transfer.py CONFIG CHECKPOINT \
        [--cfg-options k=v ...] [--trust-checkpoint]

Builds the model of CONFIG (mmdet, mmseg, mmpose or mmpretrain: the
config's ``default_scope`` picks the registry), then loads CHECKPOINT the
way the config will at train time:

- ``model.backbone.init_cfg = dict(type='Pretrained', prefix=...)``: the
  keys under ``prefix`` go into the backbone, through the backbone's own
  loader (``mmpretrain.StrictPretrainedViT`` loads strictly and raises);
- otherwise ``load_from``: the whole file goes into the whole model
  (mmengine's runner does this with ``strict=False``, so this tool is the
  check).

Exit status 0 with an OK summary when every backbone parameter gets a
checkpoint tensor, no checkpoint key goes unused and the loaded values
really are the checkpoint's; 1 (keys named) otherwise; 2 when the config
does not load pretrained backbone weights strictly at all.

CHECKPOINT may be ``.pth`` or ``.safetensors``. It is read without running
code from it (:func:`mmmgc.checkpoint.load_checkpoint_file`; a pickle that
needs another type is refused, exit 1, unless ``--trust-checkpoint``). A
file whose recorded head count (``meta['num_heads']``, written by mmmgc's
exporters) differs from the config's backbone is refused (exit 1) with the
``--cfg-options model.backbone.arch.num_heads=N`` override that fixes it.
"""
import argparse
import importlib
import sys

import torch


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Check a backbone checkpoint against a downstream '
        'config (non-zero exit on any key mismatch)')
    parser.add_argument('config', help='downstream config file')
    parser.add_argument('checkpoint', help='backbone checkpoint')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/train.py')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load CHECKPOINT even when its pickle needs types outside the '
        'allow-list (runs code from the file: only for a file you checked)')
    return parser.parse_args(argv)


def build_model(cfg):
    """Build ``cfg.model`` in the registry of ``cfg.default_scope``."""
    from mmengine.registry import DefaultScope
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    registry = importlib.import_module(f'{scope}.registry')
    if scope in ('mmdet', 'mmseg', 'mmpose'):
        importlib.import_module(f'{scope}.models')
    with DefaultScope.overwrite_default_scope(scope):
        return registry.MODELS.build(cfg.model)


def _pretrained_init_cfg(backbone_cfg):
    init_cfg = backbone_cfg.get('init_cfg', None)
    if init_cfg is None:
        return None
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    found = [c for c in cfgs if c.get('type') == 'Pretrained']
    return found[0] if found else None


def check(config: str, checkpoint: str, cfg_options=None):
    """Run the check; returns ``(exit_code, message)``."""
    import pickle

    from mmengine.config import Config

    from mmmgc.checkpoint import (BackboneCheckpointError, CheckpointHashError,
                                  HeadCountError, StrictPretrainedInitMixin,
                                  check_num_heads, compare_checkpoint,
                                  module_num_heads, read_checkpoint)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    backbone_cfg = cfg.model.get('backbone', None)
    if backbone_cfg is None:
        return 2, f'{config}: model has no backbone'
    pre = _pretrained_init_cfg(backbone_cfg)
    load_from = cfg.get('load_from', None)
    if pre is None and not load_from:
        return 2, (f'{config}: the backbone is not initialised from '
                   'pretrained weights (no model.backbone.init_cfg '
                   "type='Pretrained' and no load_from)")
    if pre is not None:
        pre['checkpoint'] = checkpoint
    try:
        state_dict, meta = read_checkpoint(checkpoint)
    except (pickle.UnpicklingError, CheckpointHashError,
            FileNotFoundError) as err:
        return 1, str(err)
    model = build_model(cfg)
    backbone = model.backbone
    try:
        check_num_heads(meta, module_num_heads(backbone), checkpoint,
                        'model.backbone.arch.num_heads')
    except HeadCountError as err:
        return 1, str(err)
    if pre is not None:
        if not isinstance(backbone, StrictPretrainedInitMixin):
            return 2, (
                f'{config}: backbone {type(backbone).__name__} loads its '
                'Pretrained init_cfg NON-strictly (a mismatch would only be '
                'logged); use type=\'mmpretrain.StrictPretrainedViT\'')
        prefix = pre.get('prefix', '')
        report = compare_checkpoint(backbone, state_dict, checkpoint, prefix,
                                    backbone.allowed_missing_keys,
                                    backbone.allowed_unused_keys)
        if not report.ok:
            return 1, report.error_message('backbone')
        try:
            backbone.init_weights()  # the strict loader of the config
        except (BackboneCheckpointError, HeadCountError) as err:
            return 1, str(err)
        target, mode = backbone, f'init_cfg Pretrained (prefix {prefix!r})'
    else:
        prefix = ''
        report = compare_checkpoint(model, state_dict, checkpoint, '')
        own_backbone = {f'backbone.{k}' for k in backbone.state_dict()}
        report.missing = [k for k in report.missing if k in own_backbone]
        if not report.ok:
            return 1, report.error_message('model (load_from)')
        model.load_state_dict({
            k: v
            for k, v in state_dict.items()
        },
                              strict=False)
        target, mode = model, 'load_from (whole model)'
    own = target.state_dict()
    resized = {r.split(' ')[0] for r in report.resized}
    wrong = [
        k for k in report.loaded if k not in resized and
        not torch.equal(own[k].cpu(), state_dict[prefix + k].to(own[k].dtype))
    ]
    if wrong:
        return 1, (f'{len(wrong)} tensor(s) differ from the checkpoint '
                   f'after loading: {sorted(wrong)[:10]}')
    n_backbone = len(backbone.state_dict())
    return 0, (f'OK: {config}: {type(model).__name__} with '
               f'{type(backbone).__name__} via {mode}: '
               f'{report.summary()}; {n_backbone} backbone tensors, values '
               'verified')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmmgc.checkpoint import set_trust_checkpoints
    if args.trust_checkpoint:
        set_trust_checkpoints(True)
    code, message = check(args.config, args.checkpoint, args.cfg_options)
    stream = sys.stdout if code == 0 else sys.stderr
    print(
        f'check_transfer: {message}'
        if code == 0 else f'check_transfer: ERROR: {message}',
        file=stream)
    return code


if __name__ == '__main__':
    sys.exit(main())
