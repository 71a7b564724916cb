"""Publish a checkpoint as OpenMMLab does: drop training-only state and
name the file ``<name>-<first 8 hex digits of its sha256>.<ext>``.

The loaders (:func:`~mmmgc.checkpoint.load_checkpoint_file`) verify such a
suffix and refuse a file whose hash does not match.
"""
import os
import os.path as osp
from typing import Any, Dict, List, Sequence, Tuple

import torch

from .safe_load import hash_suffix, load_checkpoint_file, sha256_file
from .safetensors_io import is_safetensors, save_safetensors

__all__ = [
    'TRAINING_STATE_KEYS', 'TEACHER_PREFIXES', 'strip_checkpoint',
    'hashed_name', 'publish_checkpoint'
]

#: Top-level entries of an mmengine checkpoint that only resuming needs.
TRAINING_STATE_KEYS = ('optimizer', 'param_schedulers', 'message_hub',
                       'rng_states')
#: ``state_dict`` prefixes of the EMA teachers: ``teacher`` of mmmgc's MGC
#: and Mugs; ``momentum_encoder`` of mmpretrain's MoCo v3 and of MGC
#: checkpoints written before the rename (``MGC_KEY_RENAMES``).
TEACHER_PREFIXES = ('momentum_encoder.', 'teacher.')


def strip_checkpoint(
    ckpt: Dict[str, Any],
    strip_optimizer: bool = True,
    strip_teacher: bool = False,
    teacher_prefixes: Sequence[str] = TEACHER_PREFIXES
) -> Tuple[Dict[str, Any], List[str]]:
    """Remove training state from a checkpoint dict (a new dict).

    Args:
        ckpt (dict): An mmengine checkpoint (``state_dict``, ``meta``, ...)
            or an exported backbone.
        strip_optimizer (bool): Drop :data:`TRAINING_STATE_KEYS`. Defaults
            to True.
        strip_teacher (bool): Drop ``state_dict`` keys under
            ``teacher_prefixes`` and mmengine's ``ema_state_dict``.
            Defaults to False.
        teacher_prefixes (Sequence[str]): Defaults to
            :data:`TEACHER_PREFIXES`.

    Returns:
        tuple[dict, list[str]]: The stripped checkpoint and what was
        removed (entry names; ``state_dict`` prefixes with key counts).

    Raises:
        ValueError: When ``strip_teacher`` finds no teacher key.
    """
    if not isinstance(ckpt, dict):
        raise ValueError(f'expected a checkpoint dict, got '
                         f'{type(ckpt).__name__}')
    out = dict(ckpt)
    removed: List[str] = []
    if strip_optimizer:
        for key in TRAINING_STATE_KEYS:
            if key in out:
                del out[key]
                removed.append(key)
    if strip_teacher:
        if 'ema_state_dict' in out:
            del out['ema_state_dict']
            removed.append('ema_state_dict')
        sd = out.get('state_dict')
        if not isinstance(sd, dict):
            raise ValueError('--strip-teacher: the checkpoint has no '
                             "'state_dict' entry")
        kept = {}
        counts = {p: 0 for p in teacher_prefixes}
        for k, v in sd.items():
            p = next((p for p in teacher_prefixes if k.startswith(p)), None)
            if p is None:
                kept[k] = v
            else:
                counts[p] += 1
        if not any(counts.values()) and 'ema_state_dict' not in removed:
            raise ValueError(f'--strip-teacher: no state_dict key starts with '
                             f'{list(teacher_prefixes)} (keys look like '
                             f'{sorted(sd)[:5]}); give --teacher-prefix')
        out['state_dict'] = kept
        removed += [f'{p}* ({n} keys)' for p, n in counts.items() if n]
    return out, removed


def hashed_name(path: str) -> str:
    """``path`` renamed to ``<stem>-<sha256[:8]>.<ext>`` (a name that
    already carries a suffix keeps it: the caller checks it)."""
    stem, ext = osp.splitext(path)
    return f'{stem}-{sha256_file(path)[:8]}{ext}'


def publish_checkpoint(src: str,
                       dst: str,
                       strip_optimizer: bool = True,
                       strip_teacher: bool = False,
                       teacher_prefixes: Sequence[str] = TEACHER_PREFIXES
                       ) -> Tuple[str, List[str]]:
    """Load ``src`` safely, strip it, write ``dst`` (``.pth``, or
    ``.safetensors`` for a ``{'state_dict', 'meta'}`` file) and rename it
    with its hash suffix.

    Returns:
        tuple[str, list[str]]: The final path and what was removed.

    Raises:
        ValueError: When ``dst`` already has a hash suffix.
    """
    if hash_suffix(dst):
        raise ValueError(f'{dst} already ends in a hash suffix; give the '
                         'name without it')
    ckpt = load_checkpoint_file(src)
    out, removed = strip_checkpoint(ckpt, strip_optimizer, strip_teacher,
                                    teacher_prefixes)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    if is_safetensors(dst):
        extra = sorted(set(out) - {'state_dict', 'meta'})
        if extra:
            raise ValueError(
                f'{dst}: safetensors holds state_dict and meta only; the '
                f'checkpoint also has {extra} (publish a backbone export, '
                'or write .pth)')
        save_safetensors(out, dst)
    else:
        torch.save(out, dst)
    final = hashed_name(dst)
    os.replace(dst, final)
    return final, removed
