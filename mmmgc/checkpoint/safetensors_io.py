"""Backbone files as ``.safetensors``: tensors plus string metadata, no
pickle.

:func:`save_safetensors` writes ``{'state_dict', 'meta'}`` (what the
exporters build) with the ``safetensors`` package; every ``meta`` entry
becomes a string: strings as they are, anything else as JSON, with the
JSON-encoded names listed under ``mmmgc_json_keys`` so that
:func:`load_safetensors` gives back the same ``meta``.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, Optional

import torch

__all__ = [
    'SAFETENSORS_SUFFIX', 'is_safetensors', 'save_safetensors',
    'load_safetensors', 'read_safetensors_meta', 'encode_meta', 'decode_meta'
]

SAFETENSORS_SUFFIX = '.safetensors'
_JSON_KEYS = 'mmmgc_json_keys'


def is_safetensors(path: str) -> bool:
    """Whether ``path`` names a ``.safetensors`` file."""
    return str(path).endswith(SAFETENSORS_SUFFIX)


def encode_meta(meta: Optional[dict]) -> Dict[str, str]:
    """``meta`` as the ``Dict[str, str]`` safetensors stores."""
    out: Dict[str, str] = {}
    json_keys = []
    for key, value in (meta or {}).items():
        if key in (_JSON_KEYS, 'format'):
            raise ValueError(f'meta key {key!r} is reserved')
        if isinstance(value, str):
            out[str(key)] = value
        else:
            out[str(key)] = json.dumps(value, sort_keys=True)
            json_keys.append(str(key))
    out[_JSON_KEYS] = json.dumps(sorted(json_keys))
    out['format'] = 'pt'
    return out


def decode_meta(metadata: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """Inverse of :func:`encode_meta` (metadata written by other tools is
    returned as strings)."""
    metadata = dict(metadata or {})
    json_keys = json.loads(metadata.pop(_JSON_KEYS, '[]'))
    metadata.pop('format', None)
    return {
        k: json.loads(v) if k in json_keys else v
        for k, v in metadata.items()
    }


def save_safetensors(checkpoint: Dict[str, Any], path: str) -> str:
    """Write ``{'state_dict': tensors, 'meta': dict}`` to ``path``.

    Raises:
        ValueError: When ``state_dict`` holds a non-tensor.
    """
    from safetensors.torch import save_file
    state_dict = checkpoint['state_dict']
    bad = [k for k, v in state_dict.items() if not torch.is_tensor(v)]
    if bad:
        raise ValueError(f'{path}: safetensors stores tensors only; '
                         f'not tensors: {bad[:8]}')
    tensors = {
        k: v.detach().cpu().contiguous().clone()
        for k, v in state_dict.items()
    }
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    save_file(tensors, path, metadata=encode_meta(checkpoint.get('meta')))
    return path


def read_safetensors_meta(path: str) -> Dict[str, Any]:
    """The decoded metadata of a ``.safetensors`` file (tensors are not
    read)."""
    from safetensors import safe_open
    with safe_open(path, framework='pt') as f:
        return decode_meta(f.metadata())


def load_safetensors(path: str, map_location: Any = 'cpu') -> Dict[str, Any]:
    """``{'state_dict': tensors, 'meta': metadata}`` of a ``.safetensors``
    file (the layout of the ``.pth`` exports)."""
    from safetensors.torch import load_file
    device = map_location if isinstance(map_location, str) else 'cpu'
    state_dict = load_file(path, device=device)
    if callable(map_location) or isinstance(map_location, dict):
        state_dict = {k: v.to('cpu') for k, v in state_dict.items()}
    return dict(state_dict=state_dict, meta=read_safetensors_meta(path))
