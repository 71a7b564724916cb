"""ViTPose-S config on a synthetic COCO-keypoints data set written in the
real on-disk format (person_keypoints_*.json with 17 points + JPEGs):
tiny ViT, 2 training iterations, CocoMetric keypoint AP, backbone from the
checkpoint, mmpose's layer-decay constructor on mmpretrain's ViT."""
import os.path as osp

import numpy as np
import pytest

from tests._utils import REPO_ROOT
from tests._utils.downstream_data import write_coco_keypoints
from tests._utils.transfer import (SnapshotBackbone,
                                   assert_state_from_checkpoint,
                                   set_tiny_backbone, write_vit_checkpoint)

POSE = osp.join(REPO_ROOT, 'configs/mgc/benchmarks/mmpose')
# the authors' released recipe (default) and the paper's appendix recipe
CONFIGS = [
    'td-hm_vit-small-p16_8xb64-210e_coco-256x192.py',
    'td-hm_vit-small-p16-ld0.75-dp0.3_8xb64-210e_coco-256x192.py'
]
IN_W, IN_H = 48, 64  # tiny input (w, h); patch 8 -> 6 x 8 tokens
HM_W, HM_H = 24, 32  # two stride-2 deconvs -> 24 x 32 heatmaps


@pytest.mark.slow
@pytest.mark.parametrize('name', CONFIGS)
def test_vitpose_config_trains_and_evaluates(name, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner
    root = tmp_path / 'coco'
    write_coco_keypoints(root, 'train2017', 4, 0)
    val_ann = write_coco_keypoints(root, 'val2017', 2, 1)
    ckpt = tmp_path / 'backbone.pth'
    sd = write_vit_checkpoint(ckpt, (IN_H, IN_W))

    cfg = Config.fromfile(osp.join(POSE, name))
    # (every setting is checked in tests/test_configs/test_fidelity.py)
    layer_decay = 'paramwise_cfg' in cfg.optim_wrapper
    assert layer_decay == ('ld0.75' in name)
    assert cfg.model.head.deconv_out_channels == (256, 256)
    assert cfg.codec.heatmap_size == (48, 64) and cfg.codec.sigma == 2
    assert cfg.param_scheduler[1].milestones == [170, 200]
    assert cfg.train_cfg.max_epochs == 210

    set_tiny_backbone(cfg.model.backbone, ckpt, (IN_H, IN_W))
    cfg.model.backbone.drop_path_rate = 0.0
    if layer_decay:
        cfg.optim_wrapper.paramwise_cfg.num_layers = 2
    codec = dict(
        type='UDPHeatmap',
        input_size=(IN_W, IN_H),
        heatmap_size=(HM_W, HM_H),
        sigma=2)
    cfg.model.head.update(
        in_channels=64, deconv_out_channels=(32, 32), decoder=codec)
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.batch_size = 2
        dl.num_workers = 0
        dl.persistent_workers = False
        dl.dataset.data_root = str(root) + '/'
        for t in dl.dataset.pipeline:
            if t['type'] == 'TopdownAffine':
                t['input_size'] = codec['input_size']
            if t['type'] == 'GenerateTarget':
                t['encoder'] = codec
    cfg.val_dataloader.dataset.bbox_file = None  # ground-truth boxes
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = val_ann
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=100, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(
        type='PoseVisualizationHook', enable=False)
    cfg.work_dir = str(tmp_path / 'work')

    runner = Runner.from_cfg(cfg)
    snap = SnapshotBackbone()
    runner.register_hook(snap, priority='LOWEST')
    runner.train()
    assert runner.iter == 2
    assert_state_from_checkpoint(snap.state, sd)
    groups = runner.optim_wrapper.optimizer.param_groups
    if layer_decay:
        # mmpose's layer decay works on mmpretrain's ViT: block i x
        # 0.75**(2-i)
        scale = {n: g['lr_scale'] for g in groups for n in g['param_names']}
        assert scale['backbone.layers.1.attn.qkv.weight'] == \
            pytest.approx(0.75)
        assert scale['backbone.layers.0.attn.qkv.weight'] == \
            pytest.approx(0.75**2)
        assert scale['backbone.patch_embed.projection.weight'] == \
            pytest.approx(0.75**3)
        assert scale['head.final_layer.weight'] == 1.0
    else:
        # the authors' plain AdamW: one group, weight decay on everything
        assert len(groups) == 1
        assert groups[0]['lr'] == pytest.approx(5e-4)
        assert groups[0]['weight_decay'] == 0.05
    # training moved the backbone
    after = runner.model.backbone.state_dict()
    assert not np.allclose(after['layers.1.attn.qkv.weight'].numpy(),
                           snap.state['layers.1.attn.qkv.weight'].numpy())
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert 0.0 <= metrics['coco/AR'] <= 1.0
