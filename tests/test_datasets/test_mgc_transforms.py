"""The two-view crop records geometry that matches its pixels; the blur of
the MGC configs."""
import inspect
import os.path as osp

import numpy as np
import pytest
from mmpretrain.datasets.transforms import PackInputs

from mmmgc.datasets.transforms import MGCTwoViewCrop, to_three_channels
from mmmgc.datasets.transforms.mgc_two_view_crop import box_iou
from tests._utils import REPO_ROOT


def coordinate_image(h=120, w=160):
    """Channel 0 = 2 * x, channel 1 = 2 * y (exact under bilinear resize
    away from the borders)."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float32)
    img[..., 0] = xx
    img[..., 1] = yy
    return img


def test_boxes_and_flips_match_pixels():
    np.random.seed(0)
    size = 32
    t = MGCTwoViewCrop(size=size, scale=(0.3, 1.0), flip_prob=0.5)
    img = coordinate_image()
    seen_flip = set()
    for _ in range(20):
        out = t(dict(img=img.copy()))
        boxes, flips = out['view_boxes'], out['view_flips']
        assert boxes.dtype == np.float32 and boxes.shape == (2, 4)
        assert flips.dtype == np.bool_ and flips.shape == (2, )
        for v in range(2):
            x, y, w, h = boxes[v]
            view = out['img'][v]
            assert view.shape == (size, size, 3)
            cols = np.arange(size)
            src_cols = size - 1 - cols if flips[v] else cols
            # pixel centre mapping of a resize: x + (c + .5) * w / size - .5
            exp_x = x + (src_cols + 0.5) * w / size - 0.5
            exp_y = y + (cols + 0.5) * h / size - 0.5
            inner = slice(2, size - 2)
            np.testing.assert_allclose(
                view[size // 2, inner, 0], exp_x[inner], atol=0.6)
            np.testing.assert_allclose(
                view[inner, size // 2, 1], exp_y[inner], atol=0.6)
            seen_flip.add(bool(flips[v]))
    assert seen_flip == {True, False}


def test_min_overlap_is_enforced():
    np.random.seed(1)
    t = MGCTwoViewCrop(size=16, scale=(0.08, 1.0), min_overlap=0.2)
    for _ in range(50):
        b = t(dict(img=np.zeros((100, 100, 3), np.uint8)))['view_boxes']
        assert box_iou(tuple(b[0]), tuple(b[1])) >= 0.2
    # without it some pairs overlap less (the paper does not re-sample)
    t0 = MGCTwoViewCrop(size=16, scale=(0.08, 1.0))
    ious = [
        box_iou(*(tuple(r)
                  for r in t0(dict(
                      img=np.zeros((100, 100, 3), np.uint8)))['view_boxes']))
        for _ in range(50)
    ]
    assert min(ious) < 0.2


def test_any_input_comes_out_three_channel():
    from PIL import Image
    gray = np.random.randint(0, 255, (40, 50), np.uint8)
    rgba = np.random.randint(0, 255, (40, 50, 4), np.uint8)
    pal = Image.fromarray(gray, mode='L').convert('P')
    for img in (gray, gray[..., None], rgba, pal):
        out = to_three_channels(img)
        assert out.shape == (40, 50, 3) and out.dtype == np.uint8
        v = MGCTwoViewCrop(size=16)(dict(img=img))['img']
        assert [x.shape for x in v] == [(16, 16, 3)] * 2
    np.testing.assert_array_equal(to_three_channels(gray)[..., 2], gray)
    np.testing.assert_array_equal(to_three_channels(rgba), rgba[..., :3])
    with pytest.raises(ValueError, match='expected'):
        to_three_channels(np.zeros((4, 4, 2)))


def reference_blur(img, sigma_range, prob):
    """Table 8's blur: with probability ``prob``, PIL's Gaussian blur with
    sigma ~ U(sigma_range) drawn at every call (numpy's global RNG)."""
    from PIL import Image, ImageFilter
    if np.random.rand() >= prob:
        return img, None
    sigma = float(np.random.uniform(*sigma_range))
    out = Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius=sigma))
    return np.asarray(out, dtype=img.dtype), sigma


@pytest.mark.parametrize('config', [
    'configs/mgc/mgc_demo.py', 'configs/_base_/datasets/'
    'mgc_pretrain_224.py'
])
def test_configured_blur_draws_sigma_per_call(config, monkeypatch):
    """The MGC configs blur with mmpretrain's GaussianBlur; with the same
    numpy seed it makes the same draws and pixels as the reference, and a
    new sigma in the configured range at every call."""
    from mmengine.config import Config
    from mmpretrain.registry import TRANSFORMS
    from PIL import ImageFilter
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    blurs = [
        t for p in (cfg.view1_pipeline, cfg.view2_pipeline) for t in p
        if t['type'] == 'GaussianBlur'
    ]
    assert [b['prob'] for b in blurs] == [1.0, 0.1]
    radii = []
    base = ImageFilter.GaussianBlur

    class Spy(base):

        def __init__(self, radius=2):
            radii.append(radius)
            super().__init__(radius)

    rng = np.random.default_rng(0)
    for b in blurs:
        blur = TRANSFORMS.build(b)
        lo, hi = b['magnitude_range']
        drawn = []
        for seed in range(60):
            img = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
            np.random.seed(seed)
            want, sigma = reference_blur(img.copy(), (lo, hi), b['prob'])
            np.random.seed(seed)
            radii.clear()
            with monkeypatch.context() as m:
                m.setattr(ImageFilter, 'GaussianBlur', Spy)
                got = blur(dict(img=img.copy()))['img']
            np.testing.assert_array_equal(got, want)
            assert len(radii) == (sigma is not None)
            if sigma is not None:  # the same draw, up to rounding
                assert abs(radii[0] - sigma) < 1e-12 and lo <= radii[0] <= hi
                drawn.append(radii[0])
        assert len(set(drawn)) == len(drawn) > 0
        if b['prob'] == 1.0:
            assert len(drawn) == 60


def test_per_view_pipelines_and_packing():
    np.random.seed(0)
    # view 1 always solarised at 0 (inverts everything), view 2 untouched
    t = MGCTwoViewCrop(
        size=8,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_prob=0.0,
        view_pipelines=[[dict(type='Solarize', thr=0, prob=1.0)], []])
    img = np.full((8, 8, 3), 10, np.uint8)
    out = t(dict(img=img))
    assert (out['img'][0] == 245).all() and (out['img'][1] == 10).all()
    np.testing.assert_array_equal(out['view_boxes'],
                                  [[0, 0, 8, 8], [0, 0, 8, 8]])
    packed = PackInputs(algorithm_keys=['view_boxes', 'view_flips'])(out)
    assert len(packed['inputs']) == 2
    assert packed['inputs'][0].shape == (3, 8, 8)
    ds = packed['data_samples']
    np.testing.assert_array_equal(ds.view_boxes, out['view_boxes'])
    np.testing.assert_array_equal(ds.view_flips, [False, False])


def test_documented_defaults():
    p = inspect.signature(MGCTwoViewCrop).parameters
    assert p['size'].default == 224
    assert p['scale'].default == (0.08, 1.0)
    assert p['ratio'].default == (3. / 4., 4. / 3.)
    assert p['flip_prob'].default == 0.5
    assert p['min_overlap'].default == 0.0
    with pytest.raises(ValueError, match='view_pipelines'):
        MGCTwoViewCrop(view_pipelines=[[]])
