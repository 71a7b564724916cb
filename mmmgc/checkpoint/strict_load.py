"""Load pretrained backbone weights so that a mismatch is an ERROR.

mmengine's ``Pretrained`` initialiser and ``load_from`` load with
``strict=False`` and only log the keys that did not match, so a wrong or
mis-prefixed checkpoint silently leaves a downstream model at its random
initialisation. Every mmmgc path that puts pretrained weights into a
downstream model goes through :func:`compare_checkpoint` (a pure report,
used by ``tools/misc/check_transfer.py``) or :func:`load_checkpoint_strict`
(which raises :class:`BackboneCheckpointError`, used by
``mmpretrain.StrictPretrainedViT`` at ``init_weights`` time).
"""
import fnmatch
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .head_count import check_num_heads, module_num_heads
from .safe_load import load_checkpoint_file

__all__ = [
    'BackboneCheckpointError', 'TransferReport', 'read_state_dict',
    'read_checkpoint', 'compare_checkpoint', 'load_checkpoint_strict',
    'StrictPretrainedInitMixin'
]


class BackboneCheckpointError(RuntimeError):
    """Pretrained weights do not match the model they are loaded into."""


def _short(keys: Sequence[str], limit: int = 20) -> str:
    keys = sorted(keys)
    text = ', '.join(keys[:limit])
    if len(keys) > limit:
        text += f', ... ({len(keys)} in all)'
    return text


@dataclass
class TransferReport:
    """What loading ``checkpoint`` (keys under ``prefix``) into a module
    would do.

    Attributes:
        checkpoint (str): The file.
        prefix (str): The key prefix selected (``''`` = all keys).
        loaded (list[str]): Module keys that receive a checkpoint tensor.
        missing (list[str]): Module keys with no checkpoint tensor, other
            than the allowed ones.
        allowed_missing (list[str]): Module keys without a tensor that match
            an allowed pattern.
        allowed_unused (list[str]): Checkpoint keys deliberately not used
            (e.g. ``cls_token`` for a ViT built without one).
        unused (list[str]): Checkpoint keys (full names) that go nowhere:
            outside ``prefix`` or unknown to the module.
        shape_mismatch (list[str]): ``key: ckpt shape -> model shape`` for
            tensors whose shape differs (``pos_embed`` excepted, which
            the ViT resizes).
        resized (list[str]): Tensors the ViT will resize (``pos_embed``).
    """
    checkpoint: str
    prefix: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    allowed_missing: List[str] = field(default_factory=list)
    allowed_unused: List[str] = field(default_factory=list)
    unused: List[str] = field(default_factory=list)
    shape_mismatch: List[str] = field(default_factory=list)
    resized: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.loaded) and not (self.missing or self.unused
                                          or self.shape_mismatch)

    def error_message(self, what: str = 'backbone') -> str:
        lines = [
            f'pretrained weights from {self.checkpoint} '
            f'(prefix {self.prefix!r}) do not match the {what}:'
        ]
        if not self.loaded:
            lines.append('  no checkpoint key matches any parameter')
        if self.missing:
            lines.append(f'  missing {len(self.missing)} {what} key(s): '
                         f'{_short(self.missing)}')
        if self.unused:
            lines.append(f'  {len(self.unused)} checkpoint key(s) unused: '
                         f'{_short(self.unused)}')
        if self.shape_mismatch:
            lines.append(f'  {len(self.shape_mismatch)} shape mismatch(es): '
                         f'{_short(self.shape_mismatch)}')
        return '\n'.join(lines)

    def summary(self) -> str:
        text = (f'{len(self.loaded)} tensors loaded from {self.checkpoint} '
                f'(prefix {self.prefix!r}), 0 missing, 0 unused')
        if self.allowed_missing:
            text += (f'; {len(self.allowed_missing)} allowed to stay '
                     f'initialised: {_short(self.allowed_missing)}')
        if self.allowed_unused:
            text += (f'; {len(self.allowed_unused)} deliberately unused: '
                     f'{_short(self.allowed_unused)}')
        if self.resized:
            text += f'; resized: {", ".join(self.resized)}'
        return text


def read_checkpoint(checkpoint: str,
                    map_location: str = 'cpu'
                    ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The state dict (``state_dict`` / ``model`` entry or the bare dict)
    and the ``meta`` dict (empty when absent) of a checkpoint file.

    Local files (``.pth`` or ``.safetensors``) are read with
    :func:`mmmgc.checkpoint.load_checkpoint_file`, which refuses a pickle
    that would build anything but tensors and allowed types; URLs go
    through mmengine's loaders, which ``import mmmgc`` routes to the same
    function.
    """
    if '://' in str(checkpoint):
        from mmengine.runner.checkpoint import _load_checkpoint
        ckpt = _load_checkpoint(checkpoint, map_location=map_location)
    else:
        ckpt = load_checkpoint_file(checkpoint, map_location=map_location)
    if not isinstance(ckpt, dict):
        raise BackboneCheckpointError(
            f'{checkpoint} holds a {type(ckpt).__name__}, not a dict')
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    for key in ('state_dict', 'model'):
        if key in ckpt and isinstance(ckpt[key], dict):
            return ckpt[key], meta
    return ckpt, meta


def read_state_dict(checkpoint: str,
                    map_location: str = 'cpu') -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint file (``state_dict`` / ``model`` entry
    or the bare dict); see :func:`read_checkpoint`."""
    return read_checkpoint(checkpoint, map_location)[0]


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def compare_checkpoint(
    module: nn.Module,
    state_dict: Dict[str, torch.Tensor],
    checkpoint: str = '<state_dict>',
    prefix: str = '',
    allowed_missing: Sequence[str] = (),
    allowed_unused: Sequence[str] = (),
    ignore_unused_outside_prefix: bool = False,
    resizable: Sequence[str] = ('pos_embed', )
) -> TransferReport:
    """Compare checkpoint keys with a module's state dict (no loading).

    Args:
        module (nn.Module): The module to receive the weights.
        state_dict (dict): Checkpoint tensors (full names).
        checkpoint (str): Name for messages.
        prefix (str): Only keys starting with it are for the module; it is
            stripped. Defaults to ``''``.
        allowed_missing (Sequence[str]): ``fnmatch`` patterns of module keys
            that may stay at their initialisation (e.g. ``'ln2.*'``, the
            extra norm of ``out_type='avg_featmap'``). Defaults to none.
        allowed_unused (Sequence[str]): ``fnmatch`` patterns of checkpoint
            keys (``prefix`` stripped) that may go unused. Defaults to
            none.
        ignore_unused_outside_prefix (bool): Keys outside ``prefix`` are not
            reported as unused (``load_from`` of a full model checkpoint
            where only the backbone is checked). Defaults to False.
        resizable (Sequence[str]): Keys whose shape may differ because the
            module resizes them on load. Defaults to ``('pos_embed',)``.

    Returns:
        TransferReport: The comparison.
    """
    report = TransferReport(checkpoint=checkpoint, prefix=prefix)
    selected: Dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith(prefix):
            selected[key[len(prefix):]] = value
        elif not ignore_unused_outside_prefix:
            report.unused.append(key)
    own = module.state_dict()
    for key, value in own.items():
        if key not in selected:
            if _matches(key, allowed_missing):
                report.allowed_missing.append(key)
            else:
                report.missing.append(key)
            continue
        ck = selected[key]
        if tuple(ck.shape) != tuple(value.shape):
            if key in resizable:
                report.resized.append(f'{key} {tuple(ck.shape)} -> '
                                      f'{tuple(value.shape)}')
            else:
                report.shape_mismatch.append(
                    f'{prefix}{key}: {tuple(ck.shape)} -> '
                    f'{tuple(value.shape)}')
                continue
        report.loaded.append(key)
    for k in selected:
        if k not in own:
            (report.allowed_unused if _matches(k, allowed_unused) else
             report.unused).append(prefix + k)
    return report


def load_checkpoint_strict(module: nn.Module,
                           checkpoint: str,
                           prefix: str = '',
                           allowed_missing: Sequence[str] = (),
                           allowed_unused: Sequence[str] = (),
                           map_location: str = 'cpu',
                           what: Optional[str] = None,
                           ignore_unused_outside_prefix: bool = False,
                           num_heads: Optional[int] = None,
                           num_heads_key: str = 'model.backbone.arch.num_heads'
                           ) -> TransferReport:
    """Load ``checkpoint`` (keys under ``prefix``) into ``module``; raise
    when anything does not match.

    Args:
        module (nn.Module): Receives the weights (its load-state-dict
            pre-hooks run, so a ViT resizes ``pos_embed``).
        checkpoint (str): Path or URL.
        prefix (str): Key prefix to select and strip. Defaults to ``''``.
        allowed_missing (Sequence[str]): ``fnmatch`` patterns of module keys
            that may keep their initialisation. Defaults to none.
        allowed_unused (Sequence[str]): ``fnmatch`` patterns of checkpoint
            keys (``prefix`` stripped) that may go unused. Defaults to none.
        map_location (str): Defaults to ``'cpu'``.
        what (str, optional): Name of the module in messages.
        ignore_unused_outside_prefix (bool): Keys outside ``prefix`` (the
            heads and teacher of a pretraining checkpoint whose backbone
            alone is loaded) are not errors. Defaults to False.
        num_heads (int, optional): The module's attention-head count; a
            file whose ``meta['num_heads']`` differs is refused. Defaults
            to None (not checked).
        num_heads_key (str): The config key named as the fix. Defaults to
            ``'model.backbone.arch.num_heads'``.

    Returns:
        TransferReport: What was loaded.

    Raises:
        BackboneCheckpointError: Naming the missing, unused and mis-shaped
            keys.
        HeadCountError: The recorded head count differs from
            ``num_heads``.
    """
    what = what or type(module).__name__
    state_dict, meta = read_checkpoint(checkpoint, map_location)
    check_num_heads(meta, num_heads, checkpoint, num_heads_key)
    report = compare_checkpoint(module, state_dict, checkpoint, prefix,
                                allowed_missing, allowed_unused,
                                ignore_unused_outside_prefix)
    if not report.ok:
        raise BackboneCheckpointError(report.error_message(what))
    selected = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
        and not _matches(k[len(prefix):], allowed_unused)
    }
    result = module.load_state_dict(selected, strict=False)
    leftover = [
        k for k in result.missing_keys if not _matches(k, allowed_missing)
    ]
    if leftover or result.unexpected_keys:
        raise BackboneCheckpointError(
            f'{checkpoint}: load_state_dict left missing '
            f'{_short(leftover)} / unexpected '
            f'{_short(result.unexpected_keys)} in {what}')
    return report


class StrictPretrainedInitMixin:
    """Make ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``
    load STRICTLY in ``init_weights``.

    Mix into an mmengine ``BaseModule`` subclass ahead of it (``class
    X(StrictPretrainedInitMixin, VisionTransformer)``). ``init_weights``
    first runs the module's normal (random) initialisation, then loads the
    checkpoint with :func:`load_checkpoint_strict`, raising
    :class:`BackboneCheckpointError` on any missing, unused or mis-shaped
    key. Keys matching ``self.allowed_missing_keys`` (``fnmatch``
    patterns) may keep their initialisation; checkpoint keys matching
    ``self.allowed_unused_keys`` may go unused. The last report is kept as
    ``self.pretrained_report``. A file whose ``meta['num_heads']`` (written
    by mmmgc's exporters) differs from the module's head count raises
    :class:`mmmgc.checkpoint.HeadCountError` naming both counts and the
    ``num_heads_key`` override.
    """
    num_heads_key: str = 'model.backbone.arch.num_heads'
    allowed_missing_keys: Sequence[str] = ()
    allowed_unused_keys: Sequence[str] = ()
    pretrained_report: Optional[TransferReport] = None

    _PRETRAINED_KEYS = {'type', 'checkpoint', 'prefix', 'map_location'}

    def pretrained_cfg(self) -> Optional[dict]:
        """The ``Pretrained`` entry of ``init_cfg`` (None when absent)."""
        cfgs = self.init_cfg
        if cfgs is None:
            return None
        cfgs = [cfgs] if isinstance(cfgs, dict) else list(cfgs)
        found = [c for c in cfgs if c.get('type') == 'Pretrained']
        if len(found) > 1:
            raise ValueError(f'{type(self).__name__}: init_cfg has '
                             f'{len(found)} Pretrained entries; give one')
        if not found:
            return None
        cfg = dict(found[0])
        extra = set(cfg) - self._PRETRAINED_KEYS
        if extra:
            raise ValueError(
                f'{type(self).__name__}: init_cfg Pretrained has unknown '
                f'key(s) {sorted(extra)}; allowed: '
                f'{sorted(self._PRETRAINED_KEYS)}')
        if not cfg.get('checkpoint'):
            raise ValueError(
                f'{type(self).__name__}: init_cfg Pretrained needs '
                "'checkpoint' (set e.g. --cfg-options "
                'model.backbone.init_cfg.checkpoint=PATH)')
        return cfg

    def init_weights(self) -> None:
        cfg = self.pretrained_cfg()
        if cfg is None:
            super().init_weights()
            return
        full = self.init_cfg
        others = [
            c for c in ([full] if isinstance(full, dict) else full)
            if c.get('type') != 'Pretrained'
        ]
        # Random initialisation first (for allowed-missing keys), without
        # mmengine's non-strict PretrainedInit.
        self.init_cfg = others or None
        try:
            super().init_weights()
        finally:
            self.init_cfg = full
        self.pretrained_report = load_checkpoint_strict(
            self,
            cfg['checkpoint'],
            prefix=cfg.get('prefix', ''),
            allowed_missing=self.allowed_missing_keys,
            allowed_unused=self.allowed_unused_keys,
            map_location=cfg.get('map_location', 'cpu'),
            what=f'{type(self).__name__} backbone',
            num_heads=module_num_heads(self),
            num_heads_key=self.num_heads_key)
        from mmengine.logging import print_log
        print_log(
            f'{type(self).__name__}: strict pretrained load: '
            f'{self.pretrained_report.summary()}',
            logger='current')
        self._is_init = True
