"""The one checkpoint loader of mmmgc: no code from a file ever runs.

Every checkpoint read in mmmgc (the converters, the exporter,
``check_transfer.py``, the evaluation tools, ``StrictPretrainedViT``) and
mmengine's own local loading (``load_from``, ``--resume``,
``init_cfg=dict(type='Pretrained')``, registered by
:func:`register_mmengine_loader`) goes through :func:`load_checkpoint_file`:

- ``.safetensors`` files are read with the ``safetensors`` package (tensors
  and string metadata only: nothing to execute);
- pickled ``.pth`` files are first scanned for the globals their pickle
  would build (without running it); one outside :data:`ALLOWED_GLOBALS`
  refuses the file with :class:`UntrustedCheckpointError`, naming the file,
  the type and the opt-in. Then the file is read with
  ``torch.load(weights_only=True)`` under that same allow-list;
- a file name ending in ``-<8+ hex digits>.<ext>`` (OpenMMLab's
  publishing convention) must start its sha256 with those digits.

The opt-in for a file the user has checked and trusts is the
``--trust-checkpoint`` flag of the tools (:func:`set_trust_checkpoints`) or
the environment variable ``MMMGC_TRUST_CHECKPOINT=1`` (training): the file
is then read with ``weights_only=False``, i.e. its pickle runs.
"""
import argparse
import hashlib
import os
import os.path as osp
import pickle
import re
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

__all__ = [
    'ALLOWED_GLOBALS', 'TRUST_ENV', 'UntrustedCheckpointError',
    'CheckpointHashError', 'allowed_globals', 'load_checkpoint_file',
    'find_unsafe_globals', 'set_trust_checkpoints', 'trust_checkpoints',
    'sha256_file', 'hash_suffix', 'verify_hash_suffix',
    'register_mmengine_loader'
]

#: Environment variable that trusts every checkpoint (``1``/``true``/``yes``).
TRUST_ENV = 'MMMGC_TRUST_CHECKPOINT'

_HASH_SUFFIX = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')
_TRUST_FLAG = False


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint's pickle would build an object outside the allow-list
    (nothing from it has run)."""


class CheckpointHashError(ValueError):
    """A file's sha256 does not start with the hash suffix of its name."""


def _numpy_globals() -> List[Tuple[Any, str]]:
    """The numpy objects that RNG states, ``HistoryBuffer`` arrays and
    numpy scalars pickle to (``torch.save``'s protocol 2), under the names
    the pickle uses (numpy 1.x ``numpy.core``, numpy 2.x ``numpy._core``).
    The set was read from real checkpoints with
    ``torch.serialization.get_unsafe_globals_in_checkpoint``."""
    out: List[Tuple[Any, str]] = [(np.ndarray, 'numpy.ndarray'),
                                  (np.dtype, 'numpy.dtype')]
    try:  # numpy 2
        from numpy._core import multiarray as ma2
        out += [(ma2._reconstruct, 'numpy._core.multiarray._reconstruct'),
                (ma2.scalar, 'numpy._core.multiarray.scalar')]
    except ImportError:
        pass
    from numpy.core import multiarray as ma1
    out += [(ma1._reconstruct, 'numpy.core.multiarray._reconstruct'),
            (ma1.scalar, 'numpy.core.multiarray.scalar')]
    # numpy >= 1.25: rebuilding a dtype (BUILD) needs its class,
    # numpy.dtypes.<X>DType. mmmgc checkpoints use UInt32DType (numpy RNG
    # state), Float64DType and Int64DType (HistoryBuffer, message-hub
    # scalars); the other numeric ones are allowed too
    for name in ('bool_', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                 'uint32', 'uint64', 'float16', 'float32', 'float64'):
        cls = type(np.dtype(getattr(np, name)))
        if cls is not np.dtype:
            out.append((cls, f'{cls.__module__}.{cls.__name__}'))
    return out


def _history_buffer_method(owner: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` in the unpickler, for the ONE use
    mmengine's checkpoints make of it: ``HistoryBuffer.__getstate__``
    pickles its statistics methods (``min``, ``max``, ``current``,
    ``mean``, ...) as ``getattr(HistoryBuffer, name)``. Any other
    ``getattr`` in a file is refused."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if owner is HistoryBuffer and isinstance(
            name, str) and (name in ('min', 'max', 'current', 'mean')
                            or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise UntrustedCheckpointError(
        f'the pickle calls getattr({getattr(owner, "__name__", owner)!r}, '
        f'{name!r}); only the statistics methods of mmengine\'s '
        'HistoryBuffer are allowed')


def _mmengine_globals() -> List[Tuple[Any, str]]:
    from mmengine.logging.history_buffer import HistoryBuffer
    return [(HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
            (_history_buffer_method, 'builtins.getattr')]


def allowed_globals() -> List[Tuple[Any, str]]:
    """The allow-list as ``(object, pickled name)`` pairs (the form
    ``torch.serialization.safe_globals`` takes): the non-tensor types of
    mmengine checkpoints written by mmmgc (message hub ``HistoryBuffer``,
    numpy arrays, dtypes and scalars of the RNG states and logs) and of the
    supported release formats (``argparse.Namespace``: the ``args`` entry
    of Mugs / DINO / DeiT / timm training checkpoints). ``builtins.getattr``
    is replaced by a function that only returns ``HistoryBuffer``'s
    statistics methods (the one way mmengine's message hub state uses
    it)."""
    return ([(argparse.Namespace, 'argparse.Namespace')] +
            _mmengine_globals() + _numpy_globals())


#: The names of :func:`allowed_globals` (besides torch's own defaults).
ALLOWED_GLOBALS = tuple(name for _, name in allowed_globals())


def set_trust_checkpoints(enabled: bool = True) -> None:
    """Trust (or stop trusting) every checkpoint loaded by this process:
    what a tool's ``--trust-checkpoint`` flag does."""
    global _TRUST_FLAG
    _TRUST_FLAG = bool(enabled)


def trust_checkpoints() -> bool:
    """Whether checkpoints are trusted: :func:`set_trust_checkpoints` or
    ``MMMGC_TRUST_CHECKPOINT`` set to ``1``, ``true`` or ``yes``."""
    return _TRUST_FLAG or os.environ.get(
        TRUST_ENV, '').strip().lower() in ('1', 'true', 'yes')


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def hash_suffix(path: str) -> Optional[str]:
    """The hash digits of a ``name-<hex>.<ext>`` file name (8 to 64
    lower-case hex digits, as OpenMMLab's ``publish_model.py`` and
    ``torch.hub`` name files), or None."""
    m = _HASH_SUFFIX.search(osp.basename(path))
    return m.group(1) if m else None


def verify_hash_suffix(path: str) -> Optional[str]:
    """Check a file against the hash suffix of its name, when it has one.

    Returns:
        str | None: The verified suffix, or None when the name has none.

    Raises:
        CheckpointHashError: Naming the file, the suffix and the real hash.
    """
    suffix = hash_suffix(path)
    if suffix is None:
        return None
    digest = sha256_file(path)
    if not digest.startswith(suffix):
        raise CheckpointHashError(
            f'{path}: its name says sha256 {suffix}... but the file\'s '
            f'sha256 is {digest}: the file is corrupt or was changed after '
            'it was published. Do not use it (if the suffix is not a hash, '
            'rename the file).')
    return suffix


def _refusal(path: str, names: List[str]) -> UntrustedCheckpointError:
    return UntrustedCheckpointError(
        f'refusing to load checkpoint {path}: its pickle would build '
        f'{", ".join(sorted(names))}, which is not a tensor, a plain '
        'container or an allowed type (mmmgc.checkpoint.ALLOWED_GLOBALS); '
        'loading it could run code from the file, and nothing from it has '
        'run. If you have checked the file and trust it, pass '
        f'--trust-checkpoint to the tool or set {TRUST_ENV}=1 (training, '
        'load_from, init_cfg); better, ask for a .safetensors file.')


def find_unsafe_globals(path: str) -> Optional[List[str]]:
    """The globals a ``torch.save`` file's pickle would build that are
    neither torch's defaults nor :func:`allowed_globals`, read WITHOUT
    running the pickle. None for a legacy (non-zip) file, which cannot be
    scanned (``torch.load(weights_only=True)`` still guards it)."""
    with torch.serialization.safe_globals(allowed_globals()):
        try:
            return sorted(
                torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except ValueError:
            return None


def _load_pickle(path: str, map_location) -> Any:
    unsafe = find_unsafe_globals(path)
    if unsafe:
        raise _refusal(path, unsafe)
    with torch.serialization.safe_globals(allowed_globals()):
        try:
            return torch.load(
                path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            names = re.findall(r'GLOBAL ([\w.]+)', str(err))
            if names:
                raise _refusal(path, names) from None
            raise UntrustedCheckpointError(
                f'refusing to load checkpoint {path}: '
                f'torch.load(weights_only=True) rejected it ({err}). If you '
                'have checked the file and trust it, pass '
                f'--trust-checkpoint or set {TRUST_ENV}=1.') from None


def load_checkpoint_file(filename: str,
                         map_location: Any = 'cpu',
                         trust: Optional[bool] = None) -> Any:
    """Load a local checkpoint file without running code from it.

    Args:
        filename (str): A ``torch.save`` file or a ``.safetensors`` file.
        map_location: As in ``torch.load``. Defaults to ``'cpu'``.
        trust (bool, optional): Read a pickle with ``weights_only=False``.
            Defaults to :func:`trust_checkpoints` (the ``--trust-checkpoint``
            flag / ``MMMGC_TRUST_CHECKPOINT``).

    Returns:
        The file's object; a ``.safetensors`` file gives
        ``{'state_dict': tensors, 'meta': metadata}``.

    Raises:
        FileNotFoundError: No such file.
        CheckpointHashError: The name's hash suffix does not match.
        UntrustedCheckpointError: The pickle needs a type outside the
            allow-list (and the file is not trusted).
    """
    path = osp.expanduser(str(filename))
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} can not be found.')
    verify_hash_suffix(path)
    if path.endswith('.safetensors'):
        from .safetensors_io import load_safetensors
        return load_safetensors(path, map_location)
    if trust if trust is not None else trust_checkpoints():
        return torch.load(path, map_location=map_location, weights_only=False)
    return _load_pickle(path, map_location)


def _mmengine_local(filename: str, map_location=None) -> Dict:
    return load_checkpoint_file(filename, map_location)


def _mmengine_http(filename: str,
                   map_location=None,
                   model_dir=None,
                   progress: bool = False) -> Dict:
    """Download (once, into torch's hub cache, verifying a hash suffix of
    the URL's file name as ``torch.hub`` does) and load safely."""
    from urllib.parse import urlparse

    from mmengine.dist import get_dist_info
    from torch.hub import download_url_to_file, get_dir
    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(filename).path))
    rank, world = get_dist_info()
    if rank == 0 and not osp.exists(cached):
        download_url_to_file(
            filename, cached, hash_suffix(cached), progress=progress)
    if world > 1:
        torch.distributed.barrier()
    return load_checkpoint_file(cached, map_location)


_REGISTERED = False


def register_mmengine_loader() -> None:
    """Make mmengine load local files and URLs with
    :func:`load_checkpoint_file` (``load_from``, ``--resume``,
    ``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``).

    Idempotent; called once by ``import mmmgc``.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(_mmengine_local)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), force=True)(
            _mmengine_http)
    _REGISTERED = True
