"""The demo's report (:mod:`mmmgc.evaluation.demo_report`): known values
of the probes on synthetic features, the rows of a tiny backbone, the
table, the evaluation data of a pretraining data set, and the tool."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from PIL import Image

from tests._utils import REPO_ROOT
from tests._utils.tiny_vit import tiny_vit_arch

DEMO = osp.join(REPO_ROOT, 'configs/mgc/mgc_demo.py')
MOCO = osp.join(REPO_ROOT, 'configs/mocov3/mocov3_vit-tiny-p8_demo.py')


def _clusters(num_per_class, num_classes, dim=16, noise=0.05, seed=0):
    """Features near one-hot class centres, and their labels."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(num_per_class)
    centres = torch.eye(num_classes, dim) * 3
    feats = centres[labels] + noise * torch.randn(
        len(labels), dim, generator=gen)
    return feats, labels


def test_probe_features_known_values():
    from mmmgc.evaluation import PROBE_LRS, probe_features
    ftr, ytr = _clusters(20, 4, dim=4)
    fte, yte = _clusters(5, 4, dim=4, seed=1)
    res = probe_features(ftr, ytr, fte, yte, 4, k=5)
    # separable clusters: every probe is right, and every lr ties on the
    # validation split, so the first is chosen
    assert res == dict(knn=100.0, linear=100.0, linear_lr=PROBE_LRS[0])
    # the test labels shifted by one class: every prediction is wrong
    res = probe_features(ftr, ytr, fte, (yte + 1) % 4, 4, k=5)
    assert res['knn'] == 0.0 and res['linear'] == 0.0
    # a bank of 3 class-0 features (k=20 is capped at 3): kNN answers
    # class 0, right for 5 of the 20 test features
    res = probe_features(ftr[:3], ytr[:3], fte, yte, 4, k=20, probe_epochs=5)
    assert res['knn'] == 25.0


def test_select_probe_lr_is_the_mini_benchmarks():
    """One function for the demo and the mini benchmark: the lr with the
    best validation top-1; too few steps at a small lr lose."""
    from mmmgc.evaluation import select_probe_lr
    ftr, ytr = _clusters(50, 10, dim=32, noise=1.5)
    lr = select_probe_lr(ftr, ytr, 10, lrs=(1e-5, 1.0), epochs=1)
    assert lr == 1.0
    spec = importlib.util.spec_from_file_location(
        'mini_benchmark',
        osp.join(REPO_ROOT, 'tools/benchmarks/mini_benchmark.py'))
    mb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mb)
    assert mb.select_lr(ftr, ytr, 10, lrs=(1e-5, 1.0), epochs=1) == 1.0
    assert mb.PROBE_LRS == (1e-2, 1e-1, 1.0)


def test_eval_dataset_of_and_generators():
    from mmengine.config import Config

    from mmmgc.datasets import make_items, make_scenes
    from mmmgc.evaluation import eval_dataset_of, eval_generator
    cfg = Config.fromfile(DEMO)
    assert eval_dataset_of(cfg) == 'FashionMNISTScenes'
    cfg.train_dataloader.dataset = dict(
        type='PerSampleSeededDataset', dataset=cfg.train_dataloader.dataset)
    assert eval_dataset_of(cfg) == 'FashionMNISTScenes'
    # an image folder has no generators: the default data set
    cfg.train_dataloader.dataset = dict(type='UnlabeledImageFolder')
    assert eval_dataset_of(cfg) == 'FashionMNISTScenes'
    assert eval_generator('FashionMNISTScenes', 'items') is make_items
    assert eval_generator('FashionMNISTScenes', 'scenes') is make_scenes
    with pytest.raises(ValueError, match='train_dataloader.dataset.type'):
        eval_generator('UnlabeledImageFolder', 'items')


def _tiny_cfg(path):
    """A demo config with a 1-layer, 32-wide ViT on 32 px."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    cfg.model.backbone.arch = tiny_vit_arch(32, 1, 2)
    cfg.model.backbone.img_size = 32
    return cfg


def _checkpoint(cfg, path, seed, it=7):
    """A checkpoint holding the backbone initialised with ``seed``."""
    from mmmgc.evaluation import build_frozen_backbone
    torch.manual_seed(seed)
    backbone = build_frozen_backbone(cfg.model)
    torch.save(
        {
            'meta': {
                'iter': it
            },
            'state_dict': {
                f'backbone.{k}': v
                for k, v in backbone.state_dict().items()
            }
        }, path)
    return backbone


def _direct(backbone, cfg, feature, n_train, n_test):
    """The probes computed step by step (the protocol spelt out)."""
    from mmmgc.evaluation import (extract_features, knn_top1, labelled_items,
                                  linear_probe_top1, norm_stats,
                                  select_probe_lr)
    mean, std = norm_stats(cfg)
    xtr, ytr = labelled_items('train', n_train, 32, 1, mean, std)
    xte, yte = labelled_items('test', n_test, 32, 2, mean, std)
    ftr = extract_features(backbone, xtr, feature)
    fte = extract_features(backbone, xte, feature)
    lr = select_probe_lr(ftr, ytr, 10, epochs=100, seed=0)
    return dict(
        knn=round(knn_top1(ftr, ytr, fte, yte, 10, k=20, temperature=0.07), 2),
        linear=round(
            linear_probe_top1(
                ftr, ytr, fte, yte, 10, epochs=100, lr=lr, seed=0), 2),
        linear_lr=lr)


@pytest.mark.parametrize('config,method,feature', [(DEMO, 'MGC', 'avg'),
                                                   (MOCO, 'MoCo v3', 'cls')])
def test_demo_report_rows(config, method, feature, tmp_path):
    """The learned row is the checkpoint's backbone read out with the
    method's feature, the random row the seed-0 backbone with 'avg'; a
    checkpoint of another seed differs from random init."""
    from mmmgc.evaluation import demo_report
    cfg = _tiny_cfg(config)
    ckpt = str(tmp_path / 'b.pth')
    learned = _checkpoint(cfg, ckpt, seed=5)
    pic = str(tmp_path / 'pic.png')
    rep = demo_report(cfg, ckpt, num_train=60, num_test=30, picture=pic)
    assert rep['method'] == method and rep['iterations'] == 7
    (lrow, rrow) = rep['rows']
    assert lrow['backbone'] == f'{method}, learned'
    assert lrow['feature'] == feature
    assert rrow == dict(
        backbone='random init',
        feature='avg',
        **_direct(_random(cfg), cfg, 'avg', 60, 30))
    learned.eval()
    assert {k: lrow[k] for k in ('knn', 'linear', 'linear_lr')} == \
        _direct(learned, cfg, feature, 60, 30)
    assert rep['protocol'] == dict(
        data='FashionMNISTScenes',
        num_train=60,
        num_test=30,
        img_size=32,
        num_classes=10,
        k=20,
        t=0.07,
        probe_epochs=100,
        probe_lrs=[0.01, 0.1, 1.0],
        seed=0)
    assert rep['picture']['path'] == pic
    with Image.open(pic) as im:
        assert im.size == (3 * 160, 2 * 160)  # image + 2 heads, 2 rows
    json.dumps(rep)  # JSON-able


def _random(cfg):
    from mmmgc.evaluation import build_frozen_backbone
    torch.manual_seed(0)
    return build_frozen_backbone(cfg.model)


REPORT = dict(
    method='MGC',
    iterations=320,
    rows=[
        dict(
            backbone='MGC, learned',
            feature='avg',
            knn=34.25,
            linear=53.5,
            linear_lr=1.0),
        dict(
            backbone='random init',
            feature='avg',
            knn=16.65,
            linear=41.2,
            linear_lr=0.1)
    ],
    protocol=dict(
        data='FashionMNISTScenes',
        num_train=5000,
        num_test=2000,
        img_size=64,
        num_classes=10,
        k=20,
        t=0.07,
        probe_epochs=100,
        probe_lrs=[0.01, 0.1, 1.0],
        seed=0),
    seconds=dict(pretraining=294.2, evaluation=18.0, total=331.5))


def test_format_report_known_table():
    from mmmgc.evaluation import format_report
    text = format_report(REPORT)
    lines = text.splitlines()
    assert lines[1] == 'mmmgc demo: MGC, 320 pretraining iterations'
    assert lines[3:6] == [
        '  backbone      feature  kNN top-1  linear top-1  probe lr',
        '  MGC, learned  avg        34.25 %       53.50 %         1',
        '  random init   avg        16.65 %       41.20 %       0.1',
    ]
    assert lines[-2] == ('  wall time: pretraining 4.9 min, evaluation '
                         '18 s, total 5.5 min')
    assert len(lines) == 11
    assert max(len(s) for s in lines) <= 72
    assert lines[0] == lines[2] == lines[-1] == '=' * len(lines[0])
    no_time = format_report({
        k: v
        for k, v in REPORT.items() if k != 'seconds'
    })
    assert 'wall time' not in no_time


def test_demo_report_tool(tmp_path, capsys):
    """The tool writes demo_report.json (with the wall times) and the
    picture, and prints the table, then the two paths, and no
    initialisation report."""
    cfg = _tiny_cfg(DEMO)
    cfg_path = str(tmp_path / 'tiny.py')
    cfg.dump(cfg_path)
    ckpt = str(tmp_path / 'b.pth')
    _checkpoint(cfg, ckpt, seed=5, it=4)
    spec = importlib.util.spec_from_file_location(
        'demo_report_tool', osp.join(REPO_ROOT,
                                     'tools/analysis/demo_report.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rep = tool.main([
        cfg_path, ckpt, '--num-train', '40', '--num-test', '20',
        '--pretrain-start', '100,5', '--pretrain-end', '112.5'
    ])
    out = capsys.readouterr().out.splitlines()
    assert out[1] == 'mmmgc demo: MGC, 4 pretraining iterations'
    assert out[-2].startswith(f'picture: {tmp_path}/attention.png ')
    assert out[-1] == f'numbers: {tmp_path}/demo_report.json'
    assert len(out) == 13
    assert rep['seconds']['pretraining'] == 12.0
    assert rep['seconds']['total'] is None
    with open(tmp_path / 'demo_report.json') as f:
        assert json.load(f) == rep
    assert osp.isfile(tmp_path / 'attention.png')
