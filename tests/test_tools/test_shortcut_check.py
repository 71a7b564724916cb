"""The low-level shortcut check: descriptors and retrieval with known
values, and the check itself at a tiny size."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmmgc.evaluation.shortcut_check import (augment_views, colour_histogram,
                                             hue_autocorrelation,
                                             hue_histogram,
                                             paper_view_pipelines, raw_pixels,
                                             retrieval_top1, view_retrieval)
from tests._utils import REPO_ROOT


def test_retrieval_top1_known_values():
    q = np.eye(4)
    assert retrieval_top1(q, q) == 100.0
    assert retrieval_top1(q, q[::-1]) == 0.0
    keys = q.copy()
    keys[3] = q[2]  # query 3 finds nothing of its own
    assert retrieval_top1(q, keys) == 75.0


def test_colour_histogram_known_values():
    img = np.zeros((1, 2, 2, 3), np.uint8)
    img[0, 0, 0] = (255, 255, 255)  # one white pixel, three black
    h = colour_histogram(img, bins=2)
    assert h.shape == (1, 8)
    assert np.allclose(h[0, 0], np.sqrt(0.75))
    assert np.allclose(h[0, 7], np.sqrt(0.25))
    assert np.allclose(np.square(h).sum(), 1)


def _colours(*bgr):
    """A 4 x 4 BGR image of side-by-side columns of the given colours."""
    cols = [np.full((4, 4 // len(bgr), 3), c, np.uint8) for c in bgr]
    return np.concatenate(cols, 1)[None]


RED, YELLOW, CYAN, BLUE = (0, 0, 255), (0, 255, 255), (255, 255, 0), \
    (255, 0, 0)


def test_hue_descriptors_ignore_grey_and_hue_shift():
    red = _colours(RED)
    assert np.allclose(
        hue_histogram(red, 6),
        hue_histogram(np.concatenate([red, np.full_like(red, 90)], 2), 6))
    # two hues 60 degrees apart, at two places on the hue circle: other
    # histograms, the same autocorrelation
    a, b = _colours(RED, YELLOW), _colours(CYAN, BLUE)
    assert not np.allclose(hue_histogram(a, 6), hue_histogram(b, 6), atol=0.1)
    assert np.allclose(
        hue_autocorrelation(a, 6), hue_autocorrelation(b, 6), atol=0.05)
    # 180 degrees apart: another autocorrelation
    c = _colours(RED, CYAN)
    assert not np.allclose(
        hue_autocorrelation(a, 6), hue_autocorrelation(c, 6), atol=0.1)


def test_raw_pixels_ignore_brightness_and_contrast():
    rng = np.random.default_rng(0)
    img = rng.integers(40, 120, (1, 16, 16, 3)).astype(np.uint8)
    brighter = (img.astype(np.int64) * 2 + 10).astype(np.uint8)
    assert np.allclose(raw_pixels(img, 4), raw_pixels(brighter, 4), atol=1e-5)
    assert raw_pixels(img, 4).shape == (1, 48)


def test_augment_views_is_seeded_and_changes_the_images():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (4, 32, 32, 3)).astype(np.uint8)
    pipes = paper_view_pipelines(32)
    a1, a2 = augment_views(imgs, pipes, seed=1)
    b1, b2 = augment_views(imgs, pipes, seed=1)
    assert a1.shape == imgs.shape and a2.shape == imgs.shape
    assert np.array_equal(a1, b1) and np.array_equal(a2, b2)
    assert not np.array_equal(a1, imgs) and not np.array_equal(a1, a2)
    # view 1 is always blurred (sigma scaled from 224 px), view 2 rarely
    blur = pipes[0][-1]
    assert blur['type'] == 'GaussianBlur' and blur['prob'] == 1.0
    assert blur['magnitude_range'] == pytest.approx(
        (0.1 * 32 / 224, 2.0 * 32 / 224))
    assert pipes[1][-1]['type'] == 'Solarize'


def test_flat_colour_images_are_found_by_colour_not_by_pixels():
    # 16 images, each one flat colour: through crops and flips, the colour
    # histogram and the raw pixels (whose per-image standardisation keeps
    # the balance of the channels) find every one
    import cv2
    hsv = np.stack([
        np.full((32, 32, 3), (h, 220, 200), np.uint8)
        for h in range(0, 256, 16)
    ])
    imgs = np.stack([cv2.cvtColor(x, cv2.COLOR_HSV2BGR_FULL) for x in hsv])
    crop = [
        dict(
            type='RandomResizedCrop',
            scale=32,
            crop_ratio_range=(0.2, 1.0),
            backend='pillow'),
        dict(type='RandomFlip', prob=0.5)
    ]
    v1, v2 = augment_views(imgs, [crop, crop], seed=0)
    assert retrieval_top1(colour_histogram(v1), colour_histogram(v2)) == 100
    assert retrieval_top1(raw_pixels(v1), raw_pixels(v2)) == 100
    res = view_retrieval(imgs, seed=0)
    assert res['chance'] == 100 / 16
    assert set(res) == {'colour_hist', 'hue_autocorr', 'raw_pixels', 'chance'}
    with pytest.raises(ValueError, match='augment'):
        view_retrieval(imgs, augment='nope')


def test_script_runs_at_a_tiny_size(capsys):
    pytest.importorskip('skimage')
    path = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'shortcut_check.py')
    spec = importlib.util.spec_from_file_location('shortcut_check', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.main(['--num', '24', '--size', '32'])
    assert [(r[0], r[1]) for r in rows] == [('old', 'paper'),
                                            ('textured', 'paper')]
    for _, _, res in rows:
        assert res['chance'] == 100 / 24
        for key in ('colour_hist', 'hue_autocorr', 'raw_pixels'):
            assert 0 <= res[key] <= 100
    assert '| TexturedFashionMNISTScenes | paper |' in capsys.readouterr().out
