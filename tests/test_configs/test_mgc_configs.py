"""Every MGC pretraining config loads, builds (tiny backbone override), runs
its own pipeline on an image file and trains; the demo config lowers its
loss on the embedded data."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, MODELS

from tests._utils import REPO_ROOT

PRETRAIN_CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO_ROOT, 'configs/mgc/mgc_*.py'))
    if not p.endswith('mgc_demo.py'))


def dataset_pipeline(dataset_cfg):
    if 'pipeline' in dataset_cfg:
        return dataset_cfg['pipeline']
    return dataset_cfg['datasets'][0]['pipeline']


def test_paper_configs_exist():
    """The pretraining configs are exactly the paper's four data sets plus
    the reference-code variant: one more or one fewer must be named here
    (each is built and trained below)."""
    names = {osp.basename(p) for p in PRETRAIN_CONFIGS}
    assert names == {
        'mgc_vit-small-p16_8xb32-coslr-800e_coco.py',
        'mgc_vit-small-p16_8xb32-coslr-800e_ade20k.py',
        'mgc_vit-small-p16_8xb32-coslr-800e_voc0712.py',
        'mgc_vit-small-p16_8xb32-coslr-200e_in1k.py',
        'mgc_vit-small-p16-8h_8xb32-refcode-800e_coco.py',
    }


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=osp.basename)
def test_config_builds_and_trains(path, tmp_path):
    from PIL import Image
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    # the paper's settings, stated in the config
    assert cfg.model.granularities == (1, 2, 7)
    assert cfg.model.num_samples == (10, 10, 2)
    assert cfg.model.ema_decay == 0.996
    assert cfg.model.backbone.patch_size == 16
    assert cfg.train_dataloader.batch_size * 8 == 256
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    epochs = 200 if 'in1k' in name else 800
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler[0].end == (30 if 'in1k' in name else 10)
    assert cfg.param_scheduler[1].eta_min == 1e-6
    refcode = 'refcode' in name
    assert cfg.model.head.loss.mode == ('hard' if refcode else 'soft')
    assert cfg.model.neck.shared is (not refcode)

    # tiny override of the widths; keep 224 px / patch 16 (14 x 14 grid)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.arch = dict(
        embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)
    model_cfg.neck.update(in_channels=32, hid_channels=32, out_channels=16)
    model_cfg.head.update(in_channels=16, hid_channels=32, out_channels=16)
    model = MODELS.build(model_cfg)
    model.init_weights()

    img = np.random.default_rng(0).integers(0, 255, (180, 240, 3), np.uint8)
    Image.fromarray(img).save(tmp_path / 'a.png')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(dataset_pipeline(cfg.train_dataloader.dataset))
    samples = [
        pipeline(dict(img_path=str(tmp_path / 'a.png'))) for _ in range(3)
    ]
    assert samples[0]['inputs'][0].shape == (3, 224, 224)
    batch = default_collate(samples)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
    log = model.train_step(batch, ow)
    assert torch.isfinite(log['loss'])
    assert {'loss_c1', 'loss_c2', 'loss_c7'} <= set(log)


@pytest.mark.slow
def test_demo_config_lowers_the_loss():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/mgc/mgc_demo.py'))
    assert cfg.model.type == 'MGC'
    assert cfg.train_dataloader.dataset.type == 'FashionMNISTScenes'
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.num_samples = 24
    np.random.seed(0)
    torch.manual_seed(0)
    ds = DATASETS.build(ds_cfg)
    batch = default_collate([ds[i] for i in range(24)])
    model = MODELS.build(cfg.model)
    model.init_weights()
    ow = build_optim_wrapper(model, cfg.optim_wrapper)
    model.sampling_generator = torch.Generator()
    losses = []
    for _ in range(6):
        model.sampling_generator.manual_seed(0)
        losses.append(model.train_step(copy.copy(batch), ow)['loss'].item())
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]
