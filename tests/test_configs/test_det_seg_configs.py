"""Every mmdet / mmseg transfer config: loaded, shrunk to a tiny ViT and
synthetic data in the real on-disk formats, trained 2 iterations by
mmengine's Runner, evaluated with the real metric (COCO bbox / segm AP,
mIoU), with the backbone proven to come from the checkpoint."""
import os.path as osp

import pytest
import torch

from tests._utils import REPO_ROOT
from tests._utils.downstream_cfg import load_tiny, tiny_vit_state_dict

CONFIGS = [
    ('configs/mgc/benchmarks/mmdetection/'
     'mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py', 'coco', 'det'),
    ('configs/mgc/benchmarks/mmdetection/'
     'mask-rcnn_vit-small-p16-pyramid_fpn_1x_cityscapes.py', 'cityscapes',
     'det'),
    ('configs/mugs/benchmarks/mmdetection/'
     'cascade-mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py', 'coco', 'det'),
    ('configs/mgc/benchmarks/mmsegmentation/'
     'fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py', 'ade20k', 'seg'),
    ('configs/mgc/benchmarks/mmsegmentation/'
     'fpn_vit-small-p16_4xb4-40k_voc12-512x512.py', 'voc', 'seg'),
    ('configs/mgc/benchmarks/mmsegmentation/'
     'fpn_vit-small-p16_4xb4-40k_voc12aug-512x512.py', 'voc', 'seg'),
    ('configs/mugs/benchmarks/mmsegmentation/'
     'upernet_vit-small-p16_8xb2-160k_ade20k-512x512.py', 'ade20k', 'seg'),
]


def test_every_benchmark_config_is_covered():
    import glob
    found = set()
    for algo in ('mgc', 'mugs'):
        for lib in ('mmdetection', 'mmsegmentation'):
            found |= {
                osp.relpath(p, REPO_ROOT)
                for p in glob.glob(
                    osp.join(REPO_ROOT, 'configs', algo, 'benchmarks', lib,
                             '*.py'))
            }
    assert found == {c for c, _, _ in CONFIGS}


@pytest.mark.parametrize(
    'config,data,task',
    CONFIGS,
    ids=[osp.basename(c)[:-3] for c, _, _ in CONFIGS])
def test_config_trains_and_evaluates(config, data, task, tmp_path,
                                     synthetic_data, tiny_backbone_ckpt):
    from mmengine.config import Config
    from mmengine.runner import Runner
    full = Config.fromfile(osp.join(REPO_ROOT, config))
    # the real settings are there
    assert full.custom_imports == dict(
        imports=['mmmgc'], allow_failed_imports=False)
    assert full.model.backbone.type == 'mmpretrain.StrictPretrainedViT'
    assert full.model.backbone.arch['embed_dims'] == 384
    assert full.model.backbone.arch['num_heads'] == 6
    assert full.model.backbone.init_cfg.prefix == 'backbone.'

    cfg = load_tiny(
        osp.join(REPO_ROOT, config), synthetic_data[data], tiny_backbone_ckpt,
        str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    # backbone weights came from the checkpoint (2 warm-up steps move them
    # by ~lr * 1e-3 at most; a random init differs by O(1))
    backbone = runner.model.backbone
    assert backbone.pretrained_report.ok
    ref = tiny_vit_state_dict()
    own = backbone.state_dict()
    assert len(backbone.pretrained_report.loaded) == len(own) == len(ref)
    for k, v in ref.items():
        assert torch.allclose(own[k], v, atol=1e-4), k
    assert any(not torch.equal(own[k], ref[k]) for k in ref), \
        'the backbone did not train'
    metrics = runner.val()
    if task == 'det':
        for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
            assert 0.0 <= metrics[key] <= 1.0, metrics
    else:
        assert 0.0 <= metrics['mIoU'] <= 100.0, metrics
        # known value: a head that predicts class 0 (background / "wall")
        # everywhere scores aAcc = the share of class-0 pixels among the
        # labelled ones, strictly between 0 and 100 on this data (a
        # 2-iteration model's own predictions may miss every class)
        conv_seg = runner.model.decode_head.conv_seg
        with torch.no_grad():
            conv_seg.weight.zero_()
            conv_seg.bias.fill_(-10.)
            conv_seg.bias[0] = 10.
        metrics = runner.val()
        assert 0.0 < metrics['aAcc'] < 100.0, metrics
