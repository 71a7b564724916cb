"""Textured Fashion-MNIST scenes and items: deterministic, class maps that
match the pixels, items that differ in colour within a scene."""
import numpy as np
import pytest

from mmmgc.datasets import (TEXTURE_SOURCES, TexturedFashionMNISTItems,
                            TexturedFashionMNISTScenes, load_fashion_mnist,
                            load_texture_pool, make_textured_items,
                            make_textured_scenes)
from mmmgc.datasets.textured_scenes import render_textured_scene


@pytest.fixture(scope='module')
def source():
    return load_fashion_mnist(split='test')


def test_texture_pool_loads_offline():
    pool = load_texture_pool()
    assert len(pool) == len(TEXTURE_SOURCES) == 10
    for img in pool:
        assert img.dtype == np.float32 and img.shape[2] == 3
        assert min(img.shape[:2]) == 256
        assert 0 <= img.min() and img.max() <= 255
    assert load_texture_pool() is pool  # cached


def test_scenes_are_deterministic(source):
    a, seg_a = make_textured_scenes(*source, 6, canvas=48, seed=3)
    b, seg_b = make_textured_scenes(*source, 6, canvas=48, seed=3)
    c, seg_c = make_textured_scenes(*source, 6, canvas=48, seed=4)
    assert a.shape == (6, 48, 48, 3) and a.dtype == np.uint8
    assert seg_a.shape == (6, 48, 48) and seg_a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(seg_a, seg_b)
    assert not np.array_equal(a, c)
    items, labels = make_textured_items(*source, 5, canvas=32, seed=0)
    items2, labels2 = make_textured_items(*source, 5, canvas=32, seed=0)
    assert np.array_equal(items, items2) and np.array_equal(labels, labels2)


def test_class_map_matches_the_pixels(source):
    images, labels = source
    rng = np.random.default_rng(0)
    pool = load_texture_pool()
    for _ in range(10):
        idx = rng.integers(0, len(images), 3)
        img, seg, bg = render_textured_scene(
            images[idx],
            labels[idx],
            64,
            rng, (0.3, 0.5),
            pool,
            return_background=True)
        bg = np.clip(bg[..., ::-1], 0, 255).round()
        diff = np.abs(img.astype(np.float64) - bg).mean(-1)
        # items are painted where the map says so, and only there
        assert set(np.unique(seg)) <= {0} | set((labels[idx] + 1).tolist())
        assert (seg > 0).any() and (seg == 0).any()
        # background pixels: untouched, or at most a faint item edge
        assert np.median(diff[seg == 0]) == 0
        assert diff[seg == 0].mean() < 4
        # item pixels: replaced by the item's own texture and shading
        assert diff[seg > 0].mean() > 25


def test_items_differ_in_colour_within_a_scene(source):
    imgs, segs = make_textured_scenes(*source, 64, canvas=64, seed=0)
    dists = []
    for img, seg in zip(imgs, segs):
        classes = [
            c for c in np.unique(seg) if c > 0 and (seg == c).sum() >= 30
        ]
        if len(classes) < 2:
            continue
        means = np.stack(
            [img[seg == c].astype(np.float64).mean(0) for c in classes])
        chroma = means / means.sum(1, keepdims=True)  # brightness out
        d = np.linalg.norm(chroma[:, None] - chroma[None], axis=-1)
        dists.append(d[np.triu_indices(len(classes), 1)].max())
    assert len(dists) >= 20
    # most scenes hold items of clearly different chromaticity (one shared
    # colour or grey for every item gives ~0.003 here; measured 0.22)
    assert np.median(dists) > 0.1
    assert np.mean(np.asarray(dists) > 0.05) > 0.8


def test_counts_scales_and_labels(source):
    images, labels = source
    imgs, segs = make_textured_scenes(
        images, labels, 32, canvas=64, items_per_scene=(1, 5), seed=1)
    counts = [len(np.unique(s)) - 1 for s in segs]
    assert min(counts) >= 1 and max(counts) >= 3
    cover = (segs > 0).mean((1, 2))
    assert cover.min() < 0.1 and cover.max() > 0.3  # scales vary
    items, labs = make_textured_items(images, labels, 20, canvas=32, seed=0)
    idx = np.random.default_rng(0).permutation(len(images))[:20]
    assert np.array_equal(labs, labels[idx])


def test_datasets_build_through_the_registry():
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(
        dict(
            type='TexturedFashionMNISTScenes',
            num_samples=3,
            img_size=32,
            split='test'))
    assert isinstance(ds, TexturedFashionMNISTScenes) and len(ds) == 3
    assert ds[0]['img'].shape == (32, 32, 3)
    assert ds[0]['gt_seg_map'].shape == (32, 32)
    items = DATASETS.build(
        dict(
            type='TexturedFashionMNISTItems',
            num_samples=4,
            img_size=32,
            split='test'))
    assert isinstance(items, TexturedFashionMNISTItems)
    assert 0 <= items[0]['gt_label'] < 10
