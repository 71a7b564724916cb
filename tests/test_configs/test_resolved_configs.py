"""Every config under ``configs/`` resolves (``mmengine.Config.fromfile``,
inheritance included) to the values stored in
``tests/data/resolved_configs.json``: reorganising the configs (bases,
inheritance, renamed base files) must not change what a run gets.

A change of names elsewhere in the package (a config key, a registered
type) is declared in ``RENAMES``: the stored resolutions are translated
through it before the comparison, so the stored file keeps the values of
the day it was written and the table says what has been renamed since.
Any other change of a resolved value is either a mistake or must come
with a rewritten stored file (see tests/_utils/resolved_configs.py).

A config that is new (not stored) fails unless it is listed in
``NEW_CONFIGS``; a stored config that no longer exists fails.
"""
import os.path as osp

import pytest

from tests._utils.resolved_configs import (REPO_ROOT, SNAPSHOT, AddKey,
                                           RenameKey, RenameValue, ReplaceType,
                                           config_paths, differences,
                                           load_snapshot, resolve, translate)

# Names changed since the stored resolutions were written, applied in this
# order to every stored config whose path matches ``configs`` (a glob):
#   RenameKey('model.momentum_encoder', 'model.teacher')
#   RenameKey('custom_hooks[*].momentum', 'custom_hooks[*].decay')
#   RenameValue('type', 'MGCGaussianBlur', 'GaussianBlur')
#   RenameValue('type', 'Foo', 'Bar', configs='configs/mugs/*')
#   AddKey('model.head', 'loss', dict(type='SomeLoss'))
_MUGS = '*mugs*'
_MUGS_PAIR_LOSS = dict(pair_weighting='half_global_half_local')
RENAMES = (
    # Mugs speaks MGC's / mmpretrain's names.
    RenameKey('model.base_decay', 'model.ema_decay', configs=_MUGS),
    RenameKey('model.end_decay', 'model.ema_end_decay', configs=_MUGS),
    RenameKey('model.neck.depth', 'model.neck.num_layers', configs=_MUGS),
    RenameKey(
        'model.*.hidden_channels', 'model.*.hid_channels', configs=_MUGS),
    RenameKey(
        'model.*.pred_hidden_channels',
        'model.*.pred_hid_channels',
        configs=_MUGS),
    # Norms are mmengine norm_cfg dicts, not strings.
    RenameKey('model.*.norm', 'model.*.norm_cfg', configs=_MUGS),
    RenameKey('model.*.last_norm', 'model.*.last_norm_cfg', configs=_MUGS),
    RenameValue('norm_cfg', 'BN', dict(type='GlobalBN1d'), configs=_MUGS),
    RenameValue(
        'last_norm_cfg',
        'BN_noaffine',
        dict(type='GlobalBN1d', affine=False),
        configs=_MUGS),
    # Mugs' losses are registered modules that the heads build.
    AddKey(
        'model.instance_head',
        'loss',
        dict(type='MugsInfoNCELoss', **_MUGS_PAIR_LOSS),
        configs=_MUGS),
    AddKey(
        'model.local_group_head',
        'loss',
        dict(type='MugsInfoNCELoss', **_MUGS_PAIR_LOSS),
        configs=_MUGS),
    AddKey(
        'model.group_head',
        'loss',
        dict(type='MugsGroupLoss', **_MUGS_PAIR_LOSS),
        configs=_MUGS),
    # MGC blurs with mmpretrain's GaussianBlur (same draws, same kernel).
    ReplaceType(
        'MGCGaussianBlur',
        'GaussianBlur',
        keys=(('sigma_range', 'magnitude_range'), ),
        add=(('magnitude_std', 'inf'), )),
)

# Configs added since the stored resolutions were written (paths relative
# to the repository root): they only have to resolve.
NEW_CONFIGS = frozenset({
    'configs/benchmarks/mini/variants/mgc_scenes-v2.py',
    'configs/benchmarks/mini/variants/mocov3_scenes-v2.py',
    'configs/benchmarks/mini/variants/mocov3_scenes-v2-strong.py',
    'configs/benchmarks/mini/variants/mugs_scenes-v2.py',
    'configs/benchmarks/mini/variants/mugs_scenes-v2-strong.py',
})

STORED = load_snapshot()
CURRENT = config_paths()


def test_renames_are_well_formed():
    for r in RENAMES:
        assert isinstance(r, (RenameKey, RenameValue, AddKey, ReplaceType)), \
            r


def test_every_rename_still_matches():
    """A rename that translates nothing is misspelt or stale."""
    totals = [0] * len(RENAMES)
    for config, resolved in STORED.items():
        _, counts = translate(config, resolved, RENAMES)
        totals = [t + c for t, c in zip(totals, counts)]
    unused = [r for r, t in zip(RENAMES, totals) if t == 0]
    assert not unused, (f'RENAMES entries that match no stored config: '
                        f'{unused}')


def test_no_config_is_new_or_gone():
    new = sorted(set(CURRENT) - set(STORED) - NEW_CONFIGS)
    gone = sorted(set(STORED) - set(CURRENT))
    listed_but_stored = sorted(NEW_CONFIGS & set(STORED))
    listed_but_absent = sorted(NEW_CONFIGS - set(CURRENT))
    problems = (
        [
            f'{p}: new config, not in {osp.relpath(SNAPSHOT, REPO_ROOT)} '
            '(list it in NEW_CONFIGS or rewrite the stored file)' for p in new
        ] + [f'{p}: stored, but the file is gone' for p in gone] +
        [f'{p}: in NEW_CONFIGS but already stored'
         for p in listed_but_stored] +
        [f'{p}: in NEW_CONFIGS but does not exist' for p in listed_but_absent])
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('config', sorted(STORED))
def test_config_resolves_as_stored(config):
    if config not in CURRENT:
        pytest.fail(f'{config}: stored, but the file is gone')
    expected, _ = translate(config, STORED[config], RENAMES)
    diff = differences(expected, resolve(config))
    assert not diff, f'{config} resolves differently:\n  ' + '\n  '.join(diff)


@pytest.mark.parametrize('config', sorted(NEW_CONFIGS))
def test_new_config_resolves(config):
    assert resolve(config)


# --- the translation and comparison machinery, on known trees --------------
def test_rename_key_moves_the_value():
    stored = {'model': {'momentum_encoder': {'decay': 0.99}, 'x': 1}}
    got, counts = translate(
        'configs/a.py', stored,
        [RenameKey('model.momentum_encoder', 'model.teacher')])
    assert got == {'model': {'teacher': {'decay': 0.99}, 'x': 1}}
    assert counts == [1]
    assert 'momentum_encoder' in stored['model']  # the input is untouched


def test_rename_key_with_wildcards_and_config_glob():
    stored = {
        'custom_hooks': [{
            'type': 'A',
            'momentum': 1
        }, {
            'type': 'B'
        }, {
            'type': 'C',
            'momentum': 3
        }]
    }
    rename = RenameKey(
        'custom_hooks[*].momentum',
        'custom_hooks[*].decay',
        configs='configs/mugs/*')
    got, counts = translate('configs/mugs/m.py', stored, [rename])
    assert got == {
        'custom_hooks': [{
            'type': 'A',
            'decay': 1
        }, {
            'type': 'B'
        }, {
            'type': 'C',
            'decay': 3
        }]
    }
    assert counts == [2]
    got, counts = translate('configs/mgc/m.py', stored, [rename])
    assert got == stored and counts == [0]


def test_rename_key_can_move_into_a_new_parent():
    stored = {'model': {'ema_decay': 0.996}}
    got, _ = translate('configs/a.py', stored,
                       [RenameKey('model.ema_decay', 'model.ema.decay')])
    assert got == {'model': {'ema': {'decay': 0.996}}}


def test_rename_value_everywhere_under_its_key():
    stored = {
        'pipeline': [{
            'type': 'MGCGaussianBlur',
            'prob': 1.0
        }, {
            'type': 'Solarize',
            'name': 'MGCGaussianBlur'
        }],
        'type':
        'MGCGaussianBlur'
    }
    got, counts = translate(
        'configs/a.py', stored,
        [RenameValue('type', 'MGCGaussianBlur', 'GaussianBlur')])
    assert got == {
        'pipeline': [{
            'type': 'GaussianBlur',
            'prob': 1.0
        }, {
            'type': 'Solarize',
            'name': 'MGCGaussianBlur'
        }],
        'type':
        'GaussianBlur'
    }
    assert counts == [2]


def test_bad_rename_paths_are_refused():
    with pytest.raises(ValueError, match='same wildcards'):
        RenameKey('a[*].b', 'a.b')
    with pytest.raises(ValueError, match='end in a key name'):
        RenameKey('a[0]', 'b[0]')


def test_differences_name_the_key_path():
    stored = {
        'model': {
            'neck': [{
                'type': 'FPN',
                'num_outs': 5
            }],
            'a': 1
        },
        'lr': 1.0,
        'gone': 2
    }
    now = {
        'model': {
            'neck': [{
                'type': 'FPN',
                'num_outs': 4
            }],
            'a': 1
        },
        'lr': 1,
        'new': 3
    }
    assert differences(stored, now) == [
        'gone: missing now (stored: 2)',
        'lr: stored 1.0, now 1',
        'model.neck[0].num_outs: stored 5, now 4',
        'new: not in the stored resolution (now: 3)',
    ]
    assert differences(stored, stored) == []
