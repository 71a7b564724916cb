"""The mini-benchmark configs share one budget and build; the benchmark's
evaluation and report run end to end on tiny synthetic data."""
import glob
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmmgc.evaluation import EVAL_GENERATORS
from tests._utils import REPO_ROOT
from tests._utils.tiny_vit import tiny_vit_arch


def _load():
    path = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'mini_benchmark.py')
    spec = importlib.util.spec_from_file_location('mini_benchmark', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def mb():
    return _load()


@pytest.fixture(scope='module')
def cfgs(mb):
    return {
        m: Config.fromfile(osp.join(REPO_ROOT, p))
        for m, p in mb.CONFIGS.items()
    }


def test_mini_configs_share_one_budget(mb, cfgs):
    budgets = {m: mb.budget_of(c) for m, c in cfgs.items()}
    mb.check_same_budget(budgets)  # raises on a mismatch
    b = budgets['mgc']
    assert b['arch'] == tiny_vit_arch(64, 2, 4)
    assert (b['img_size'], b['patch_size'], b['batch_size']) == (64, 8, 64)
    assert b['dataset'] == 'FashionMNISTScenes'
    for cfg in cfgs.values():
        # every epoch-based schedule ends with the training
        ends = [s.end for s in cfg.param_scheduler]
        assert max(ends) == cfg.train_cfg.max_epochs
        assert cfg.default_hooks.checkpoint.interval == \
            cfg.train_cfg.max_epochs
    bad = dict(budgets)
    bad['mugs'] = dict(bad['mugs'], batch_size=32)
    with pytest.raises(ValueError, match='batch_size'):
        mb.check_same_budget(bad)


def test_mini_configs_build(cfgs):
    from mmpretrain.registry import MODELS
    for m, cfg in cfgs.items():
        model = MODELS.build(cfg.model)
        assert type(model).__name__ == {
            'mocov3': 'MoCoV3',
            'mgc': 'MGC',
            'mugs': 'Mugs'
        }[m]


def test_variant_configs_load_build_and_keep_the_budget(mb, cfgs):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS
    paths = sorted(
        glob.glob(
            osp.join(REPO_ROOT, 'configs', 'benchmarks', 'mini', 'variants',
                     '*.py')))
    assert paths
    budgets = {'mgc': mb.budget_of(cfgs['mgc'])}
    for path in paths:
        cfg = Config.fromfile(path)
        budgets[osp.basename(path)] = mb.budget_of(cfg)
        MODELS.build(cfg.model)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            ds = DATASETS.build(
                dict(cfg.train_dataloader.dataset, num_samples=2))
            views = len(ds[0]['inputs'])
            if cfg.model.type == 'Mugs':  # 2 teacher, 2 student, 4 local
                assert views == 8
            else:
                assert views == 2  # two views
    # variants change the augmentation, the method's own settings, the
    # training seed or the kind of scenes, never the budget
    mb.check_same_budget(
        budgets, ignore=('colour_jitter', 'grayscale', 'seed', 'dataset'))
    assert {b['dataset'] for b in budgets.values()} <= set(EVAL_GENERATORS)


def test_rescale_epochs_moves_the_schedules(mb, cfgs):
    cfg = mb.rescale_epochs(cfgs['mugs'], 40)
    assert cfg.train_cfg.max_epochs == 40
    assert cfg.default_hooks.checkpoint.interval == 40
    assert [s.end for s in cfg.param_scheduler] == [1, 40, 40]
    assert cfg.param_scheduler[1].T_max == 39
    assert cfgs['mugs'].train_cfg.max_epochs == 15  # the original is kept
    with pytest.raises(ValueError, match='no room'):
        mb.rescale_epochs(cfgs['mgc'], 1)


def test_evaluate_backbone_and_report(mb, tmp_path):
    from mmpretrain.models import VisionTransformer
    rng = np.random.default_rng(0)

    def items(n):
        return (rng.integers(0, 255, (n, 32, 32, 3),
                             dtype=np.uint8), np.arange(n) % 10)

    def scenes(n):
        return (rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8),
                rng.integers(0, 11, (n, 32, 32)).astype(np.uint8))

    data = dict(
        items_train=items(40),
        items_test=items(20),
        scenes_train=scenes(6),
        scenes_test=scenes(4))
    torch.manual_seed(0)
    vit = VisionTransformer(
        arch=tiny_vit_arch(32, 1, 2),
        img_size=32,
        patch_size=8,
        out_type='raw')
    res = mb.evaluate_backbone(
        vit,
        data, (0, 0, 0), (255, 255, 255),
        'avg',
        8,
        probe_epochs=2,
        dense_epochs=1)
    for key in ('knn_cls', 'knn_avg', 'linear_cls', 'linear_avg', 'dense_miou',
                'dense_aacc', 'dense_fg_iou'):
        assert 0 <= res[key] <= 100, key
    assert res['knn'] == res['knn_avg'] and res['feature'] == 'avg'
    assert len(res['dense_iou']) == 11
    json.dumps(res)  # JSON-able
    rows = [
        dict(res, row='random init', backbone='ViT', order=0, iters=0),
        dict(
            res,
            row='MGC',
            backbone='ViT',
            order=1,
            iters=480,
            pretrain_seconds=90.0),
    ]
    table = mb.markdown_table(rows)
    assert table.count('\n') == 4 and '| MGC | ViT | 480 | 1.5 min |' in table
    out = mb.plot_rows(rows, str(tmp_path / 'r.png'), 300, 150)
    with Image.open(out) as im:
        assert im.format == 'PNG' and im.size == (300, 150)


def test_with_seeds_trains_each_config_once_per_seed(mb, cfgs):
    one = {'mgc': cfgs['mgc']}
    out, paths, names = mb.with_seeds(one, {'mgc': 'a.py'}, {'mgc': 'MGC'},
                                      [0, 3])
    assert list(out) == ['mgc_seed0', 'mgc_seed3']
    assert [c.randomness.seed for c in out.values()] == [0, 3]
    assert out['mgc_seed3'].randomness.diff_rank_seed is True
    assert cfgs['mgc'].randomness.seed == 0  # the input is not changed
    assert names['mgc_seed3'] == 'MGC (seed 3)'
    assert paths['mgc_seed0'] == 'a.py'
    # apart from the seed, the budget is the one the methods share
    budgets = {k: mb.budget_of(c) for k, c in out.items()}
    mb.check_same_budget(budgets, ignore=('seed', ))


def test_seed_summary_gives_mean_and_sample_std():
    from mmmgc.evaluation import mean_std
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError):
        mean_std([])
    mb = _load()
    rows = [
        dict(
            key=f'mgc_seed{s}',
            row=f'MGC (seed {s})',
            knn=k,
            linear=lin,
            dense_miou=10.0,
            dense_fg_iou=40.0 + s)
        for s, k, lin in ((0, 30.0, 50.0), (1, 32.0, 52.0), (2, 34.0, 51.0))
    ] + [
        dict(
            key='random_MoCoV3ViT',
            row='random init',
            knn=16.65,
            linear=41.2,
            dense_miou=10.5,
            dense_fg_iou=42.9)
    ]
    table = mb.seed_summary_table(rows)
    assert '| MGC | 3 | 32.00 +- 2.00 | 51.00 +- 1.00 | 10.00 +- 0.00 | ' \
        '41.00 +- 1.00 |' in table
    assert '| random init | 1 | 16.65 | 41.20 | 10.50 | 42.90 |' in table
