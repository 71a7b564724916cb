"""State-dict keys that were renamed, so that older checkpoints still load.

A rename is an ``(old, new)`` pair of key prefixes. The algorithms apply
theirs to whatever state dict is loaded into them (a load pre-hook), so
mmengine's ``resume``, ``load_from`` and ``Pretrained`` init all accept
both spellings.
"""
from typing import List, MutableMapping, Sequence, Tuple

__all__ = ['MGC_KEY_RENAMES', 'rename_key', 'rename_state_dict_keys']

#: MGC's EMA teacher was the attribute ``momentum_encoder``; it is
#: ``teacher``, as in Mugs.
MGC_KEY_RENAMES: Tuple[Tuple[str, str],
                       ...] = (('momentum_encoder.', 'teacher.'), )


def rename_key(key: str,
               renames: Sequence[Tuple[str, str]],
               prefix: str = '') -> str:
    """``key`` with the first matching old prefix (after ``prefix``)
    replaced by its new one; other keys unchanged."""
    for old, new in renames:
        if key.startswith(prefix + old):
            return prefix + new + key[len(prefix + old):]
    return key


def rename_state_dict_keys(state_dict: MutableMapping,
                           renames: Sequence[Tuple[str, str]],
                           prefix: str = '') -> List[Tuple[str, str]]:
    """Rename old keys of ``state_dict`` in place, keeping their order.

    A key whose new name is already present is left as it is (the loader
    then reports it as unexpected). The ``_metadata`` that ``state_dict()``
    attaches (module versions) gains entries under the new names.

    Args:
        state_dict (MutableMapping): A state dict (or a copy the loader
            owns).
        renames (Sequence[tuple[str, str]]): ``(old, new)`` key prefixes,
            e.g. :data:`MGC_KEY_RENAMES`.
        prefix (str): Prefix of the module's own keys in ``state_dict``
            (as passed to a load pre-hook). Defaults to ``''``.

    Returns:
        list[tuple[str, str]]: The ``(old, new)`` keys that were renamed.
    """
    items = list(state_dict.items())
    present = set(state_dict)
    done = []
    for key, _ in items:
        new = rename_key(key, renames, prefix)
        if new != key and new not in present:
            done.append((key, new))
            present.add(new)
    if not done:
        return done
    mapping = dict(done)
    state_dict.clear()
    for key, value in items:
        state_dict[mapping.get(key, key)] = value
    metadata = getattr(state_dict, '_metadata', None)
    if isinstance(metadata, MutableMapping):
        for name in list(metadata):
            new = rename_key(name + '.', renames, prefix)[:-1]
            if new != name and new not in metadata:
                metadata[new] = metadata[name]
    return done
