"""Config mistakes fail before training starts, with the key named: a Mugs k
(neighbours) above the buffer length when the model is built; an MGC
granularity that does not divide the patch grid of the crops and a crop
smaller than a patch (MGC and Mugs) in ``tools/train.py`` before anything is
built, as only the whole config sees both the pipeline and the backbone (MGC
itself re-checks the grid in its loss)."""
import os.path as osp
import subprocess

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

from mmmgc.utils import (check_crops_cover_a_patch, check_mgc_granularities,
                         check_pretrain_config)
from tests._utils import REPO_ROOT
from tests._utils import scaleout as u


def _demo(algo: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, u.DEMOS[algo]))


def _build(model_cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(model_cfg)


def test_mgc_granularity_not_dividing_the_grid_fails_before_build():
    cfg = _demo('mgc')  # 64 px crops, patch 8: an 8 x 8 grid
    check_pretrain_config(cfg)  # the shipped demo is fine
    cfg.model.granularities = (1, 3, 4)
    with pytest.raises(
            ValueError,
            match=r'model\.granularities=\(1, 3, 4\): \[3\] .*'
            r'8 x 8 .*pipeline\[0\]\.size=64.*patch_size=8'):
        check_pretrain_config(cfg)
    cfg.model.granularities = (1, 2, 8)  # 8 divides 8: fine
    check_pretrain_config(cfg)
    cfg.train_dataloader.dataset.pipeline[0].size = 68  # grid 8, 4 px left
    with pytest.raises(
            ValueError,
            match=r'size=68 is not a multiple of '
            r'model\.backbone\.patch_size=8'):
        check_mgc_granularities(cfg)


def test_mugs_k_above_the_buffer_fails_at_build():
    pytest.importorskip('mmmgc.models.selfsup.mugs')
    cfg = _demo('mugs')
    cfg.model.num_neighbours = cfg.model.neighbour_buffer_length + 1
    with pytest.raises(
            ValueError, match='num_neighbours.*neighbour_buffer_length'):
        _build(cfg.model)


@pytest.mark.parametrize('algo,key', [('mgc', 'size'), ('mugs', 'local_size'),
                                      ('mugs', 'global_size')])
def test_crop_smaller_than_a_patch_is_named(algo, key):
    if algo == 'mugs':
        pytest.importorskip('mmmgc.models.selfsup.mugs')
    cfg = _demo(algo)
    check_crops_cover_a_patch(cfg)  # the shipped demo is fine
    crop = cfg.train_dataloader.dataset.pipeline[0]
    crop[key] = 4  # patch_size is 8
    msg = (rf'train_dataloader\.dataset\.pipeline\[0\]\.{key}=4 .*'
           r'model\.backbone\.patch_size=8')
    with pytest.raises(ValueError, match=msg):
        check_crops_cover_a_patch(cfg)
    # also through a dataset wrapper
    cfg.train_dataloader.dataset = dict(
        type='PerSampleSeededDataset', dataset=cfg.train_dataloader.dataset)
    with pytest.raises(ValueError, match=r'dataset\.dataset\.pipeline'):
        check_crops_cover_a_patch(cfg)


@pytest.mark.slow
def test_train_tool_rejects_a_small_crop_before_building(tmp_path):
    cfg = _demo('mgc')
    cfg.train_dataloader.dataset.pipeline[0].size = 4
    path = u.dump_cfg(cfg, str(tmp_path / 'bad.py'))
    proc = subprocess.run([
        u.PYTHON,
        osp.join(REPO_ROOT, 'tools/train.py'), path, '--work-dir',
        str(tmp_path / 'work')
    ],
                          cwd=REPO_ROOT,
                          env=u.run_env(),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert 'pipeline[0].size=4' in proc.stdout
    assert 'model.backbone.patch_size=8' in proc.stdout
    assert not (tmp_path / 'work').exists()  # nothing was built or written


@pytest.mark.parametrize('name', [
    'mgc_vit-small-p16_8xb32-coslr-200e_in1k.py',
    'mgc_vit-small-p16_8xb32-coslr-800e_coco.py',
    'mgc_vit-small-p16_8xb32-coslr-800e_ade20k.py',
    'mgc_vit-small-p16_8xb32-coslr-800e_voc0712.py',
    'mgc_vit-small-p16-8h_8xb32-refcode-800e_coco.py',
])
def test_real_data_mgc_configs_skip_bad_images_and_resume_exactly(name):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/mgc', name))
    dataset = cfg.train_dataloader.dataset
    datasets = dataset.get('datasets') or [dataset]
    for d in datasets:
        # VOC07+12 trainval is defined by image-set lists, not by a folder
        assert d.type in ('UnlabeledImageFolder', 'VOC'), d.type
        assert d.pipeline[0].type == 'RobustLoadImage'
    hooks = {h['type'] for h in cfg.get('custom_hooks', [])}
    assert {'NonFiniteLossHook', 'BadImageReportHook',
            'RNGStateHook'} <= hooks, hooks
