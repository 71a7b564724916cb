"""The attention-head count of an exported ViT backbone.

The head count is not visible in a ViT's weights (``qkv`` has the same
shape for any count), so an 8-head checkpoint loads without error into a
6-head ViT and gives different features. The exporters record it in the
file's ``meta['num_heads']``; the loaders compare it with the model's and
refuse a mismatch.
"""
import ast
from typing import Any, Optional

import torch.nn as nn

__all__ = [
    'HeadCountError', 'STANDARD_NUM_HEADS', 'module_num_heads',
    'arch_num_heads', 'num_heads_from_cfg_text', 'check_num_heads'
]

#: Heads of the standard ViTs by width (ViT-Ti/S/B/L: 64 channels a head).
STANDARD_NUM_HEADS = {192: 3, 384: 6, 768: 12, 1024: 16}


class HeadCountError(ValueError):
    """The head count recorded in a checkpoint differs from the model's."""


def module_num_heads(module: nn.Module) -> Optional[int]:
    """The head count of an mmpretrain ``VisionTransformer`` (its
    ``arch_settings``), or of its first attention layer; None if unknown."""
    arch = getattr(module, 'arch_settings', None)
    if isinstance(arch, dict) and 'num_heads' in arch:
        return int(arch['num_heads'])
    for m in module.modules():
        if hasattr(m, 'num_heads') and hasattr(m, 'qkv'):
            return int(m.num_heads)
    return None


def arch_num_heads(arch: Any) -> Optional[int]:
    """The head count of an mmpretrain ``VisionTransformer`` ``arch``
    (a dict with ``num_heads``, or a name of its ``arch_zoo``)."""
    if isinstance(arch, dict):
        value = arch.get('num_heads')
        return int(value) if value is not None else None
    if isinstance(arch, str):
        from mmpretrain.models.backbones import VisionTransformer
        setting = VisionTransformer.arch_zoo.get(arch.lower())
        return int(setting['num_heads']) if setting else None
    return None


def _literal(node: ast.AST) -> Any:
    """A literal or a ``dict(k=literal, ...)`` call; anything else raises
    ``ValueError`` (nothing is executed)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and not node.args:
        return {
            kw.arg: _literal(kw.value)
            for kw in node.keywords if kw.arg is not None
        }
    return ast.literal_eval(node)


def _keyword(call: ast.AST, name: str) -> Optional[ast.AST]:
    if isinstance(call, ast.Call):
        for kw in call.keywords:
            if kw.arg == name:
                return kw.value
    if isinstance(call, ast.Dict):
        for k, v in zip(call.keys, call.values):
            if isinstance(k, ast.Constant) and k.value == name:
                return v
    return None


def num_heads_from_cfg_text(text: Optional[str]) -> Optional[int]:
    """``model.backbone.arch``'s head count in a config's text (the
    ``meta['cfg']`` of an mmengine checkpoint), parsed without running it;
    None when the text does not state it as literals."""
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'model'
                for t in stmt.targets)):
            continue
        backbone = _keyword(stmt.value, 'backbone')
        arch = _keyword(backbone, 'arch') if backbone is not None else None
        if arch is None:
            return None
        try:
            return arch_num_heads(_literal(arch))
        except (ValueError, TypeError, SyntaxError):
            return None
    return None


def check_num_heads(meta: Optional[dict],
                    num_heads: Optional[int],
                    checkpoint: str,
                    override: str = 'model.backbone.arch.num_heads') -> None:
    """Refuse a checkpoint whose recorded head count differs from the
    model's.

    Args:
        meta (dict, optional): The file's ``meta`` (``num_heads`` is the
            recorded count; files without it are not checked).
        num_heads (int, optional): The model's count (None: not checked).
        checkpoint (str): The file, for the message.
        override (str): The config key that sets the model's count, named
            in the message as the fix. Defaults to
            ``'model.backbone.arch.num_heads'``.

    Raises:
        HeadCountError: Naming both counts and the override.
    """
    recorded = meta.get('num_heads') if isinstance(meta, dict) else None
    if recorded is None or num_heads is None:
        return
    recorded = int(recorded)
    if recorded != int(num_heads):
        raise HeadCountError(
            f'{checkpoint} was exported from a ViT with {recorded} attention '
            f'heads, but the model has {num_heads}: the weights would load '
            'without error and give different features. Build the model '
            f'with {recorded} heads: --cfg-options {override}={recorded} '
            '(when the config names its arch as a string, give a full arch '
            f'dict with num_heads={recorded}).')
