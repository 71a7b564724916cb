"""Every Mugs pretraining config loads, and builds (with a tiny backbone and
small heads) into a model, pipeline, optimiser, schedulers and hooks that
run one step."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tests._utils import REPO_ROOT
from tests._utils.mugs_fixtures import silence_init_logs
from tests._utils.tiny_vit import tiny_vit_arch

CONFIGS = sorted(
    glob.glob(osp.join(REPO_ROOT, 'configs', 'mugs', 'mugs_*.py')))


def test_all_configs_are_listed():
    """The Mugs configs are exactly the demo and the released ViT-S/B/L
    schedules: one more or one fewer must be named here (each is built and
    stepped below)."""
    names = [osp.basename(c) for c in CONFIGS]
    assert names == [
        'mugs_demo.py', 'mugs_vit-base-p16_24xb42-400e_in1k.py',
        'mugs_vit-large-p16_40xb16-250e_in1k.py',
        'mugs_vit-small-p16_16xb64-300e_in1k.py',
        'mugs_vit-small-p16_16xb64-800e_in1k.py',
        'mugs_vit-small-p16_8xb64-100e_in1k.py'
    ]


def _tiny(cfg):
    m = cfg.model
    m.backbone.arch = tiny_vit_arch(32, 2, 2)
    m.backbone.img_size = 32
    m.backbone.patch_size = 8
    m.neck.update(embed_dims=32, num_heads=2, feedforward_channels=64)
    for key in ('instance_head', 'local_group_head'):
        m[key].update(
            in_channels=32,
            hid_channels=32,
            out_channels=16,
            pred_hid_channels=32,
            queue_length=40)
    m.group_head.update(
        in_channels=32,
        hid_channels=32,
        bottleneck_channels=16,
        num_prototypes=30)
    m.neighbour_buffer_length = 40
    crop = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] == 'MugsMultiCrop'
    ][0]
    crop.update(global_size=32, local_size=16, num_local_crops=2)
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs_one_step(path):
    from mmengine.dataset import default_collate
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import HOOKS, MODELS, PARAM_SCHEDULERS, TRANSFORMS

    silence_init_logs()
    cfg = _tiny(Config.fromfile(path))
    assert cfg.model.type == 'Mugs' and cfg.default_scope == 'mmpretrain'
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 10)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        pipeline = [
            TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline
            if t['type'] != 'RobustLoadImage'
        ]
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
        for s in cfg.param_scheduler:
            s = dict(s)
            cls = PARAM_SCHEDULERS.get(s.pop('type'))
            assert s.pop('convert_to_iter_based')
            cls.build_iter_from_epoch(ow, epoch_length=5, **s)
        hooks = [HOOKS.build(h) for h in cfg.custom_hooks]
    assert {type(h).__name__
            for h in hooks
            } >= {'MugsTeacherTempHook', 'MugsFreezeLastLayerHook'}
    if 'demo' not in path:
        # real-data configs: robust loading, NaN stop, exact resume
        assert cfg.train_dataloader.dataset.type == 'UnlabeledImageFolder'
        assert cfg.train_dataloader.dataset.pipeline[0].type == \
            'RobustLoadImage'
        assert {type(h).__name__
                for h in hooks} >= {
                    'NonFiniteLossHook', 'BadImageReportHook', 'RNGStateHook'
                }
    samples = []
    for i in range(2):
        r = dict(
            img=np.random.RandomState(i).randint(
                0, 255, (40, 40, 3), dtype=np.uint8))
        for t in pipeline:
            r = t(r)
        samples.append(r)
    out = model.train_step(default_collate(samples), ow)
    assert all(torch.isfinite(v) for v in out.values())
