"""The embedded default data: Fashion-MNIST files, the scenes and items
made from them, and their data sets built through the registry."""
import numpy as np
import pytest

from mmmgc.datasets import (FashionMNISTItems, FashionMNISTScenes,
                            load_fashion_mnist, make_items, make_scenes)


def test_fashion_mnist_files_load():
    images, labels = load_fashion_mnist(split='test')
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert sorted(np.unique(labels).tolist()) == list(range(10))
    assert np.bincount(labels).tolist() == [1000] * 10


def test_missing_data_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='no_data_here'):
        load_fashion_mnist(str(tmp_path / 'no_data_here'))


def test_scenes_are_deterministic_and_labelled():
    images, labels = load_fashion_mnist(split='test')
    a, seg_a = make_scenes(images, labels, 8, canvas=48, seed=3)
    b, seg_b = make_scenes(images, labels, 8, canvas=48, seed=3)
    c, _ = make_scenes(images, labels, 8, canvas=48, seed=4)
    assert np.array_equal(a, b) and np.array_equal(seg_a, seg_b)
    assert not np.array_equal(a, c)
    assert a.shape == (8, 48, 48, 3) and seg_a.shape == (8, 48, 48)
    assert seg_a.max() <= 10
    # every scene has background and at least one item
    for s in seg_a:
        assert (s == 0).any() and (s > 0).any()
    # the per-pixel map is neither trivially empty nor full
    assert 0.05 < (seg_a > 0).mean() < 0.95


def test_items_carry_their_label():
    images, labels = load_fashion_mnist(split='test')
    imgs, labs = make_items(images, labels, 20, canvas=32, seed=0)
    assert imgs.shape == (20, 32, 32, 3) and labs.shape == (20, )
    # the sampled item's label is its source label
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(images))[:20]
    assert np.array_equal(labs, labels[idx])


def test_datasets_build_through_the_registry():
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(
        dict(
            type='FashionMNISTScenes',
            num_samples=4,
            img_size=32,
            split='test'))
    assert isinstance(ds, FashionMNISTScenes) and len(ds) == 4
    item = ds[0]
    assert item['img'].shape == (32, 32, 3)
    assert item['gt_seg_map'].shape == (32, 32)
    items = DATASETS.build(
        dict(
            type='FashionMNISTItems', num_samples=5, img_size=32,
            split='test'))
    assert isinstance(items, FashionMNISTItems)
    assert 0 <= items[0]['gt_label'] < 10
