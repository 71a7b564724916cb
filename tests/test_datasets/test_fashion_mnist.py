"""The embedded default data (Fashion-MNIST scenes and items) and the kNN
evaluation used by the main job."""
import numpy as np
import pytest
import torch

from mmmgc.datasets import (FashionMNISTItems, FashionMNISTScenes,
                            load_fashion_mnist, make_items, make_scenes)
from mmmgc.evaluation import extract_features, knn_classify, knn_top1


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
    ds = DATASETS.build(dict(type='FashionMNISTScenes', num_samples=4,
                             img_size=32, split='test'))
    assert isinstance(ds, FashionMNISTScenes) and len(ds) == 4
    item = ds[0]
    assert item['img'].shape == (32, 32, 3)
    assert item['gt_seg_map'].shape == (32, 32)
    items = DATASETS.build(dict(type='FashionMNISTItems', num_samples=5,
                                img_size=32, split='test'))
    assert isinstance(items, FashionMNISTItems)
    assert 0 <= items[0]['gt_label'] < 10


def test_knn_known_values():
    train = torch.tensor([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    test = torch.tensor([[1., 0.05], [0.05, 1.]])
    scores = knn_classify(train, labels, test, num_classes=2, k=2,
                          temperature=0.1)
    assert scores.argmax(1).tolist() == [0, 1]
    # k=2 votes come only from the two nearest (same-class) samples
    assert scores[0, 1] == 0 and scores[1, 0] == 0
    # weights are exp(cos / T)
    cos = torch.nn.functional.cosine_similarity(test[:1], train[:2])
    assert torch.allclose(scores[0, 0], (cos / 0.1).exp().sum())
    assert knn_top1(train, labels, train, labels, 2, k=1) == 100.0
    with pytest.raises(ValueError, match='k must be'):
        knn_classify(train, labels, test, 2, k=5)


def test_extract_features_cls_and_avg():

    class Tokens(torch.nn.Module):

        def forward(self, x):
            b = x.shape[0]
            tokens = torch.arange(3 * 2.).view(1, 3, 2).repeat(b, 1, 1)
            return (tokens, )

    x = torch.zeros(5, 3, 8, 8)
    cls = extract_features(Tokens(), x, 'cls')
    avg = extract_features(Tokens(), x, 'avg')
    assert cls.tolist() == [[0., 1.]] * 5
    assert avg.tolist() == [[3., 4.]] * 5  # mean of tokens 1 and 2
    both = extract_features(Tokens(), x, 'cls+avg', batch_size=2)
    assert both.shape == (5, 4)


def test_knn_items_tool_loads_the_checkpoint(repo_root, tmp_path, capsys):
    """``tools/analysis/knn.py items`` (the demo's evaluation): every
    backbone tensor of the checkpoint is loaded, a checkpoint holding the
    random initialisation's backbone scores exactly what the random
    initialisation scores, and the JSON names the feature."""
    import importlib.util
    import json
    import os.path as osp

    from mmengine.config import Config

    from mmmgc.evaluation import build_frozen_backbone
    cfg_path = osp.join(repo_root, 'configs/mgc/mgc_demo.py')
    torch.manual_seed(0)
    backbone = build_frozen_backbone(Config.fromfile(cfg_path).model)
    ckpt = str(tmp_path / 'random.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               backbone.state_dict().items()}}, ckpt)
    spec = importlib.util.spec_from_file_location(
        'knn_tool', osp.join(repo_root, 'tools/analysis/knn.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 'knn.json')
    res = tool.main(['items', cfg_path, ckpt, '--num-train', '40',
                     '--num-test', '20', '--k', '5', '--compare-random',
                     '--out', out])
    n = len(backbone.state_dict())
    assert f'loaded {n} backbone tensors from {ckpt} (strict)' in \
        capsys.readouterr().out
    assert res['feature'] == 'avg'  # MGC: mean patch token
    assert 0 <= res['random_init'] <= 100
    assert res['pretrained'] == res['random_init']
    with open(out) as f:
        assert json.load(f) == res
