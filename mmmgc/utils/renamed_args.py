"""Errors for constructor arguments that were renamed: an old config key
fails with a message naming its new key, instead of being accepted under
its old name or failing with a bare ``TypeError``."""
from typing import Mapping


def check_renamed_args(given: Mapping, renamed: Mapping[str, str],
                       where: str) -> None:
    """Raise if ``given`` uses an old argument name.

    Args:
        given (Mapping): The arguments (or the config dict) of a module.
        renamed (Mapping[str, str]): Old name -> new name; a new name may
            be a key of a sub-dict, e.g. ``'loss.pair_weighting'``.
        where (str): The config key of ``given``, e.g.
            ``'model.instance_head'``.

    Raises:
        ValueError: e.g. ``model.base_decay was renamed model.ema_decay``.
    """
    old = [key for key in given if key in renamed]
    if old:
        raise ValueError('; '.join(f'{where}.{key} was renamed '
                                   f'{where}.{renamed[key]}' for key in old))


def reject_extra_args(extra: Mapping, renamed: Mapping[str, str],
                      where: str) -> None:
    """For a constructor's ``**kwargs``: :func:`check_renamed_args`, then a
    ``TypeError`` for any other unexpected argument, as Python raises."""
    check_renamed_args(extra, renamed, where)
    if extra:
        raise TypeError(f'{where} got unexpected arguments {sorted(extra)}')
