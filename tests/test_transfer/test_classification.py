"""mmpretrain classification protocols (kNN, linear probe, fine-tuning,
semi-supervised logistic regression and fine-tuning) on a tiny ImageNet-
layout data set written as PNGs: every config is loaded, overridden to a
2-layer 64-wide ViT, trained for 2 iterations and evaluated (top-1), and the
backbone is checked to come from the checkpoint the test wrote."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests._utils import REPO_ROOT
from tests._utils.transfer import (SnapshotBackbone,
                                   assert_state_from_checkpoint,
                                   set_tiny_backbone, shrink_pipeline,
                                   write_vit_checkpoint)

MUGS = osp.join(REPO_ROOT, 'configs/mugs/benchmarks/classification')
MGC = osp.join(REPO_ROOT, 'configs/mgc/benchmarks/classification')
IMG = 32
NUM_CLASSES = 4
PER_CLASS = 4


@pytest.fixture(scope='module')
def imagenet_like(tmp_path_factory):
    """``train/<cls>/*.png``, ``val/<cls>/*.png`` and ``meta/*.txt`` lists
    (mmpretrain ImageNet layout), plus 1 % / 10 % subset lists."""
    import cv2

    from mmmgc.datasets import load_fashion_mnist, make_items
    root = tmp_path_factory.mktemp('imagenet')
    try:
        images, labels = load_fashion_mnist(split='test')
    except (FileNotFoundError, OSError) as e:
        pytest.skip(f'Fashion-MNIST not installed: {e}')
    keep = np.concatenate(
        [np.nonzero(labels == c)[0][:40] for c in range(NUM_CLASSES)])
    imgs, labs = make_items(
        images[keep], labels[keep], num=len(keep), canvas=IMG, seed=0)
    os.makedirs(root / 'meta')
    lines = {'train': [], 'val': []}
    count = {}
    for img, lab in zip(imgs, labs):
        c = int(lab)
        n = count.get(c, 0)
        if n >= 2 * PER_CLASS:
            continue
        count[c] = n + 1
        split = 'train' if n < PER_CLASS else 'val'
        rel = f'class{c}/img{n}.png'
        os.makedirs(root / split / f'class{c}', exist_ok=True)
        cv2.imwrite(str(root / split / rel), img)
        lines[split].append(f'{rel} {c}')
    assert all(count[c] == 2 * PER_CLASS for c in range(NUM_CLASSES))
    for split, ls in lines.items():
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(ls) + '\n')
    # subsets: every other training image
    sub = lines['train'][::2]
    for p in (1, 10):
        (root / 'meta' / f'train_{p}percent.txt').write_text('\n'.join(sub) +
                                                             '\n')
    ckpt = root / 'backbone.pth'
    sd = write_vit_checkpoint(ckpt, IMG)
    return dict(
        root=str(root),
        ckpt=str(ckpt),
        sd=sd,
        n_train=len(lines['train']),
        n_sub=len(sub))


def _tiny(cfg_path, data, tmp_path):
    cfg = Config.fromfile(cfg_path)
    bb = cfg.model.backbone
    set_tiny_backbone(bb, data['ckpt'], IMG)
    if bb.get('frozen_stages', -1) > 0:
        bb.frozen_stages = 2
    if isinstance(bb.get('out_indices'), list) and len(bb.out_indices) > 2:
        bb.out_indices = [-2, -1]
        cfg.model.neck.num_layers = 2
    if cfg.model.get('head'):
        n_taps = cfg.model.neck.num_layers if cfg.model.get('neck') else 1
        cfg.model.head.in_channels = 64 * n_taps
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg.get(name)
        if not dl:
            continue
        dl.dataset.data_root = data['root']
        dl.dataset.pipeline = shrink_pipeline(dl.dataset.pipeline, IMG)
        dl.batch_size = 4
        dl.num_workers = 0
        dl.persistent_workers = False
    cfg.work_dir = str(tmp_path)
    return cfg


def _train_two_iters(cfg):
    from mmengine.runner import Runner

    # 8 or 16 training images at batch 4: stop after 2 iterations
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=100, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=1024)
    runner = Runner.from_cfg(cfg)
    snap = SnapshotBackbone()
    runner.register_hook(snap, priority='LOWEST')
    runner.train()
    metrics = runner.val_loop.run()
    return runner, snap, metrics


TRAIN_CONFIGS = [
    (MUGS, 'vit-small-p16_linear-last4cls-8xb128-coslr-100e_in1k.py'),
    (MUGS, 'vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py'),
    (MUGS, 'vit-small-p16_ft-1pct-8xb128-1000e_in1k.py'),
    (MUGS, 'vit-small-p16_ft-10pct-8xb128-1000e_in1k.py'),
    (MGC, 'vit-small-p16_linear-last4avg-8xb128-coslr-100e_in1k.py'),
    (MGC, 'vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py'),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    'folder,name',
    TRAIN_CONFIGS,
    ids=[f'{osp.basename(f)}/{n}' for f, n in TRAIN_CONFIGS])
def test_train_config_two_iters_and_top1(folder, name, imagenet_like,
                                         tmp_path):
    cfg = _tiny(osp.join(folder, name), imagenet_like, tmp_path)
    runner, snap, metrics = _train_two_iters(cfg)
    assert runner.iter == 2
    # the backbone the training started from is the checkpoint's
    assert_state_from_checkpoint(snap.state, imagenet_like['sd'])
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    model = runner.model
    after = model.backbone.state_dict()
    if 'linear' in name:  # frozen backbone: unchanged, the head moved
        for k, v in after.items():
            assert torch.equal(v, snap.state[k]), k
        assert model.neck.num_layers == 2
        feats = model.extract_feat(torch.rand(2, 3, IMG, IMG))[-1]
        assert feats.shape == (2, 128)
    else:  # fine-tuning moves the backbone
        assert not torch.equal(after['layers.0.attn.qkv.weight'],
                               snap.state['layers.0.attn.qkv.weight'])
    if '1pct' in name or '10pct' in name:
        ds = runner.train_dataloader.dataset
        assert len(ds) == imagenet_like['n_sub']
    if 'ld0.55' in name:  # layer-wise lr decay: consecutive blocks x 0.55
        groups = runner.optim_wrapper.optimizer.param_groups
        lr = {g['param_name']: g['lr'] for g in groups}
        l0 = lr['backbone.layers.0.attn.qkv.weight']
        l1 = lr['backbone.layers.1.attn.qkv.weight']
        assert l0 / l1 == pytest.approx(0.55)


def test_wrong_checkpoint_is_an_error(imagenet_like, tmp_path):
    """A checkpoint without the ``backbone.`` prefix must not load."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': dict(imagenet_like['sd'])}, str(bad))
    cfg = _tiny(
        osp.join(MUGS, 'vit-small-p16_ft-ld0.55-8xb128-coslr-'
                 '200e_in1k.py'), imagenet_like, tmp_path)
    cfg.model.backbone.init_cfg.checkpoint = str(bad)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    with pytest.raises(Exception, match='missing'):
        model.init_weights()


@pytest.mark.slow
@pytest.mark.parametrize('folder,name,temperature', [
    (MUGS, 'vit-small-p16_knn-k20-t0.05_in1k.py', 0.05),
    (MGC, 'vit-small-p16_knn-avg-k20-t0.07_in1k.py', 0.07),
])
def test_knn_tool(folder, name, temperature, imagenet_like, tmp_path):
    from mmmgc.evaluation import build_feature_model, knn_from_config
    cfg = _tiny(osp.join(folder, name), imagenet_like, tmp_path)
    res = knn_from_config(cfg, ks=[1, 4])
    assert res['num_train'] == imagenet_like['n_train']
    assert 0 <= res['top1_k4'] <= 100
    assert res['temperature'] == temperature
    # the backbone is the checkpoint's
    model = build_feature_model(cfg)
    assert_state_from_checkpoint(model.backbone.state_dict(),
                                 imagenet_like['sd'])
    # known value: querying the bank itself, k = 1 finds each image
    cfg.val_dataloader.dataset.split = 'train'
    assert knn_from_config(cfg, ks=[1])['top1_k1'] == 100.0


@pytest.mark.slow
@pytest.mark.parametrize('pct', [1, 10])
def test_logreg_tool(pct, imagenet_like, tmp_path):
    from mmmgc.evaluation import logreg_from_config
    cfg = _tiny(
        osp.join(MUGS, f'vit-small-p16_logreg-{pct}pct_in1k.py'),
        imagenet_like, tmp_path)
    cfg.logreg.epochs = 30
    res = logreg_from_config(cfg)
    assert res['num_train'] == imagenet_like['n_sub']
    assert sorted(res['top1_per_lr']) == [0.03, 0.06, 0.1, 0.2]
    assert res['top1'] == max(res['top1_per_lr'].values())
    # known value: evaluated on its own (separable) training subset, a
    # logistic regression on 64-d features of 8 images is perfect
    cfg.val_dataloader.dataset.split = 'train'
    cfg.val_dataloader.dataset.ann_file = f'meta/train_{pct}percent.txt'
    assert logreg_from_config(cfg)['top1'] == 100.0
