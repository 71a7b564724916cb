"""Every config under ``configs/`` (``_base_`` folders excepted) resolved by
``mmengine.Config.fromfile`` into canonical JSON, and the machinery that
compares a resolution with the stored one (``tests/data/
resolved_configs.json``, checked by
``tests/test_configs/test_resolved_configs.py``).

Canonical form: ``cfg.to_dict()`` with tuples as lists; a string holding the
absolute path of the checkout has that path replaced by ``<repo>``; any
other non-JSON value is an error naming the config and the key path.

Paths into a resolved config read ``model.neck[0].type``: ``.`` descends
into a dict, ``[i]`` indexes a list; in a rename, ``*`` matches every key
of a dict and ``[*]`` every element of a list.

Rewrite the stored file (only after an intended change of resolved
values, to be named in the commit) from the repository root with::

    python -m tests._utils.resolved_configs
"""
import copy
import fnmatch
import glob
import json
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Sequence, Tuple, Union

from tests._utils import REPO_ROOT

SNAPSHOT = osp.join(REPO_ROOT, 'tests', 'data', 'resolved_configs.json')
REPO_PLACEHOLDER = '<repo>'

Key = Union[str, int]


# --- resolving ---------------------------------------------------------------
def config_paths(repo_root: str = REPO_ROOT) -> List[str]:
    """Every ``.py`` config under ``configs/`` outside ``_base_`` folders, as
    sorted paths relative to ``repo_root`` with ``/`` separators."""
    found = glob.glob(
        osp.join(repo_root, 'configs', '**', '*.py'), recursive=True)
    rel = (osp.relpath(p, repo_root).replace(osp.sep, '/') for p in found)
    return sorted(p for p in rel if '_base_' not in p.split('/'))


def canonical(value: Any, where: str = '', repo_root: str = REPO_ROOT):
    """``value`` as plain JSON data: dicts (string keys), lists, strings,
    numbers, booleans and None. ``where`` names the value in errors."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f'{where}: key {k!r} is not a string')
            out[k] = canonical(v, join_path(where, k), repo_root)
        return out
    if isinstance(value, (list, tuple)):
        return [
            canonical(v, join_path(where, i), repo_root)
            for i, v in enumerate(value)
        ]
    if isinstance(value, str):
        return value.replace(repo_root, REPO_PLACEHOLDER)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise TypeError(f'{where}: {type(value).__name__} value {value!r} has '
                    'no JSON form')


def resolve(rel_path: str, repo_root: str = REPO_ROOT) -> dict:
    """The canonical resolved form of one config (path relative to
    ``repo_root``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo_root, rel_path))
    return canonical(cfg.to_dict(), rel_path + ':', repo_root)


def resolve_all(repo_root: str = REPO_ROOT) -> Dict[str, dict]:
    return {p: resolve(p, repo_root) for p in config_paths(repo_root)}


def dumps(resolved: Dict[str, dict]) -> str:
    return json.dumps(resolved, sort_keys=True, indent=1) + '\n'


def write_snapshot(path: str = SNAPSHOT) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(dumps(resolve_all()))


def load_snapshot(path: str = SNAPSHOT) -> Dict[str, dict]:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


# --- paths -------------------------------------------------------------------
def join_path(parent: str, key: Key) -> str:
    if isinstance(key, int):
        return f'{parent}[{key}]'
    if not parent or parent.endswith(':'):
        return f'{parent}{key}'
    return f'{parent}.{key}'


_PART = re.compile(r'([^.\[\]]+)|\[(\d+|\*)\]')


def parse_path(path: str) -> List[Key]:
    """``'model.neck[0].type'`` -> ``['model', 'neck', 0, 'type']``;
    ``*`` (any dict key) and ``[*]`` (any list index) stay ``'*'``."""
    parts: List[Key] = []
    pos = 0
    while pos < len(path):
        if path[pos] == '.' and parts:
            pos += 1
        m = _PART.match(path, pos)
        if m is None:
            raise ValueError(f'bad config path {path!r} at {pos}')
        name, index = m.groups()
        if name is not None:
            parts.append(name)
        else:
            parts.append(index if index == '*' else int(index))
        pos = m.end()
    if not parts:
        raise ValueError('empty config path')
    return parts


def format_path(parts: Sequence[Key]) -> str:
    out = ''
    for p in parts:
        out = join_path(out, p)
    return out


def _matches(
    tree: Any, pattern: Sequence[Key], prefix: Tuple[Key, ...] = ()
) -> Iterator[Tuple[Key, ...]]:
    """Concrete paths in ``tree`` that ``pattern`` (wildcards allowed)
    names."""
    if not pattern:
        yield prefix
        return
    head, rest = pattern[0], pattern[1:]
    if isinstance(tree, dict):
        keys = list(tree) if head == '*' else [head]
        for k in keys:
            if isinstance(k, str) and k in tree:
                yield from _matches(tree[k], rest, prefix + (k, ))
    elif isinstance(tree, list):
        idx = range(len(tree)) if head == '*' else [head]
        for i in idx:
            if isinstance(i, int) and -len(tree) <= i < len(tree):
                yield from _matches(tree[i], rest, prefix + (i, ))


def _get(tree: Any, parts: Sequence[Key]) -> Any:
    for p in parts:
        tree = tree[p]
    return tree


# --- renames -----------------------------------------------------------------
@dataclass(frozen=True)
class RenameKey:
    """A key that moved: the value at ``old`` now lives at ``new`` (both
    paths; ``new`` has a ``*`` / ``[*]`` wherever ``old`` has one, filled
    with what ``old`` matched there). Only configs whose path matches the
    ``configs`` glob are translated."""
    old: str
    new: str
    configs: str = 'configs/*'

    def __post_init__(self):
        old, new = parse_path(self.old), parse_path(self.new)
        if old.count('*') != new.count('*'):
            raise ValueError(f'{self}: old and new need the same wildcards')
        if not (isinstance(old[-1], str) and isinstance(new[-1], str)) or \
                '*' in (old[-1], new[-1]):
            raise ValueError(f'{self}: old and new must end in a key name')

    def apply(self, tree: dict) -> int:
        old, new = parse_path(self.old), parse_path(self.new)
        hits = list(_matches(tree, old))
        for concrete in hits:
            filled = iter(k for k, p in zip(concrete, old) if p == '*')
            target = [next(filled) if p == '*' else p for p in new]
            parent = _get(tree, concrete[:-1])
            value = parent.pop(concrete[-1])
            node = tree
            for p in target[:-1]:  # missing dicts on the way are created
                if isinstance(node, dict):
                    node = node.setdefault(p, {})
                else:
                    node = node[p]
            node[target[-1]] = value
        return len(hits)


@dataclass(frozen=True)
class RenameValue:
    """A value that was renamed: wherever a dict has ``key`` set to ``old``
    (e.g. ``key='type'``, ``old='MGCGaussianBlur'``), it now holds
    ``new``. Only configs whose path matches the ``configs`` glob are
    translated."""
    key: str
    old: Any
    new: Any
    configs: str = 'configs/*'

    def apply(self, tree: Any) -> int:
        hits = 0
        if isinstance(tree, dict):
            if tree.get(self.key, _MISSING) == self.old and \
                    type(tree[self.key]) is type(self.old):
                tree[self.key] = copy.deepcopy(self.new)
                hits += 1
            for v in tree.values():
                hits += self.apply(v)
        elif isinstance(tree, list):
            for v in tree:
                hits += self.apply(v)
        return hits


@dataclass(frozen=True)
class AddKey:
    """A key that the code now spells out in configs with a fixed value
    (e.g. a head's new ``loss=dict(...)``): it is added to the stored
    resolution under every ``parent`` that exists (``*`` / ``[*]``
    wildcards allowed) and does not hold it yet. Only configs whose path
    matches the ``configs`` glob are translated."""
    parent: str
    key: str
    value: Any
    configs: str = 'configs/*'

    def apply(self, tree: dict) -> int:
        hits = 0
        for concrete in list(_matches(tree, parse_path(self.parent))):
            node = _get(tree, concrete)
            if isinstance(node, dict) and self.key not in node:
                node[self.key] = copy.deepcopy(self.value)
                hits += 1
        return hits


@dataclass(frozen=True)
class ReplaceType:
    """A registered type replaced by another with other argument names:
    every dict whose ``type`` is ``old`` gets ``type=new``, its keys renamed
    by ``keys`` (``(old_name, new_name)`` pairs) and the fixed arguments
    ``add`` set. Only configs whose path matches ``configs`` are
    translated."""
    old: str
    new: str
    keys: Tuple[Tuple[str, str], ...] = ()
    add: Tuple[Tuple[str, Any], ...] = ()
    configs: str = 'configs/*'

    def apply(self, tree: Any) -> int:
        hits = 0
        if isinstance(tree, dict):
            if tree.get('type') == self.old:
                tree['type'] = self.new
                for old, new in self.keys:
                    if old in tree:
                        tree[new] = tree.pop(old)
                for k, v in self.add:
                    tree[k] = copy.deepcopy(v)
                hits += 1
            for v in tree.values():
                hits += self.apply(v)
        elif isinstance(tree, list):
            for v in tree:
                hits += self.apply(v)
        return hits


_MISSING = object()
Rename = Union[RenameKey, RenameValue, AddKey, ReplaceType]


def translate(config: str, resolved: dict,
              renames: Sequence[Rename]) -> Tuple[dict, List[int]]:
    """A stored resolution of ``config`` with ``renames`` applied in order,
    and how many places each rename changed."""
    tree = copy.deepcopy(resolved)
    counts = []
    for r in renames:
        counts.append(
            r.apply(tree) if fnmatch.fnmatchcase(config, r.configs) else 0)
    return tree, counts


# --- comparing ---------------------------------------------------------------
def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def differences(expected: Any, actual: Any, path: str = '') -> List[str]:
    """One line per difference between two canonical trees: the key path,
    then what the stored resolution has and what the config gives now."""
    where = path or '<top>'
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual)):
            sub = join_path(path, k)
            if k not in actual:
                out.append(f'{sub}: missing now (stored: '
                           f'{_short(expected[k])})')
            elif k not in expected:
                out.append(f'{sub}: not in the stored resolution (now: '
                           f'{_short(actual[k])})')
            else:
                out += differences(expected[k], actual[k], sub)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [
                f'{where}: {len(expected)} elements stored, {len(actual)} '
                f'now (stored: {_short(expected)}; now: {_short(actual)})'
            ]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += differences(e, a, join_path(path, i))
        return out
    if expected == actual and type(expected) is type(actual):
        return []
    return [f'{where}: stored {_short(expected)}, now {_short(actual)}']


if __name__ == '__main__':
    write_snapshot()
    print(f'wrote {osp.relpath(SNAPSHOT, REPO_ROOT)} '
          f'({len(config_paths())} configs)')
