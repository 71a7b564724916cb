"""MugsMultiCrop: crop counts and sizes, weak/strong switching, sharing,
packing into a batch the model accepts."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import TRANSFORMS

from mmmgc.datasets.transforms import MugsMultiCrop


def _img(seed=0, size=48):
    return np.random.RandomState(seed).randint(
        0, 255, (size, size, 3), dtype=np.uint8)


def test_crop_counts_and_sizes():
    t = MugsMultiCrop(global_size=32, local_size=16, num_local_crops=3)
    out = t(dict(img=_img()))
    shapes = [c.shape for c in out['img']]
    assert shapes == [(32, 32, 3)] * 4 + [(16, 16, 3)] * 3
    assert isinstance(out['mugs_weak'], bool)


def test_strong_probability_switches_the_weak_flag():
    np.random.seed(0)
    weak_only = MugsMultiCrop(
        global_size=32, local_size=16, num_local_crops=1, strong_prob=0.0)
    always = MugsMultiCrop(
        global_size=32, local_size=16, num_local_crops=1, strong_prob=1.0)
    half = MugsMultiCrop(global_size=32, local_size=16, num_local_crops=0)
    assert all(weak_only(dict(img=_img()))['mugs_weak'] for _ in range(5))
    assert not any(always(dict(img=_img()))['mugs_weak'] for _ in range(5))
    flags = [half(dict(img=_img()))['mugs_weak'] for _ in range(200)]
    assert 0.35 < np.mean(flags) < 0.65


def test_strong_branch_uses_mmpretrain_randaugment_and_erasing():
    t = MugsMultiCrop(global_size=32, local_size=16)
    names = [type(x).__name__ for x in t.strong_global.transforms]
    assert names == [
        'RandomFlip', 'RandAugment', 'RandomResizedCrop', 'RandomErasing'
    ]
    ra = t.strong_global.transforms[1]
    assert ra.num_policies == 2 and ra.magnitude_level == 9
    assert ra.magnitude_std == 0.5
    assert len(ra.policies) == 15  # timm's increasing policies ("inc1")
    er = t.strong_global.transforms[3]
    assert er.erase_prob == 0.25 and er.mode == 'rand'
    weak = [type(x).__name__ for x in t.weak_global[1].transforms]
    assert weak == [
        'RandomResizedCrop', 'RandomFlip', 'RandomApply', 'RandomGrayscale',
        'GaussianBlur', 'Solarize'
    ]
    assert t.weak_global[0].transforms[4].prob == 1.0  # global 1: blur


def test_share_global_crops_copies_the_teacher_crops():
    t = MugsMultiCrop(
        global_size=32,
        local_size=16,
        num_local_crops=1,
        share_global_crops=True)
    out = t(dict(img=_img()))
    assert np.array_equal(out['img'][0], out['img'][2])
    assert np.array_equal(out['img'][1], out['img'][3])
    assert out['mugs_weak']


def test_pipeline_packs_a_batch_for_the_model():
    from mmengine.dataset import default_collate
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        crop = TRANSFORMS.build(
            dict(
                type='MugsMultiCrop',
                global_size=32,
                local_size=16,
                num_local_crops=2))
        pack = TRANSFORMS.build(
            dict(type='PackInputs', algorithm_keys=['mugs_weak']))
    batch = default_collate([pack(crop(dict(img=_img(i)))) for i in range(3)])
    assert [tuple(x.shape) for x in batch['inputs']] == \
        [(3, 3, 32, 32)] * 4 + [(3, 3, 16, 16)] * 2
    assert all(isinstance(ds.mugs_weak, bool) for ds in batch['data_samples'])
    assert batch['inputs'][0].dtype == torch.uint8


def test_bad_arguments():
    with pytest.raises(ValueError, match='strong_prob'):
        MugsMultiCrop(strong_prob=1.5)
    with pytest.raises(ValueError, match='num_global_crops'):
        MugsMultiCrop(num_global_crops=0)
