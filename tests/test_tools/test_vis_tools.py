"""The picture tools write real PNGs of the expected size, and the maths
behind them (attention weights, cell geometry, matches, log parsing) gives
known values. Tiny inputs only."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from tests._utils import REPO_ROOT
from tests._utils.tiny_vit import tiny_vit_arch

VIS = osp.join(REPO_ROOT, 'tools', 'visualization')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _load(name):
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(VIS, name + '.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assert_png(path, size):
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(path) as im:
        assert im.format == 'PNG'
        assert im.size == size
        im.load()  # the whole file decodes


def _tiny_vit(img_size=32):
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(
        arch=tiny_vit_arch(32, 1, 2),
        img_size=img_size,
        patch_size=8,
        out_type='raw')
    vit.eval()  # (train() returns None in mmpretrain ViTs)
    return vit


# ----------------------------------------------------------- correspondence
def test_cell_geometry_known_values():
    vc = _load('vis_correspondence')
    box = (10, 20, 40, 40)  # x, y, w, h
    # 4 x 4 cells of 10 px; cell 1 = row 0, col 1
    assert vc.cell_rect(box, False, 4, 1) == (20, 20, 30, 30)
    # flipped: column 1 as fed is original column 2
    assert vc.cell_rect(box, True, 4, 1) == (30, 20, 40, 30)
    assert vc.cell_at((0.99, 0.26), 4) == 1 * 4 + 3
    assert vc.view_point_of(box, True, 20, 30) == (0.75, 0.25)
    boxes = np.array([[0, 0, 20, 20], [10, 10, 20, 20]], np.float32)
    assert vc.overlap_centre(boxes) == (15, 15)


def test_targets_of_cell_follow_the_overlap():
    vc = _load('vis_correspondence')
    boxes = np.array([[0, 0, 32, 32], [16, 0, 32, 32]], np.float32)
    flips = np.array([False, False])
    # 2 x 2 cells; view-1 cell 1 (top right, x 16..32) is exactly view-2
    # cell 0 (top left, x 16..32)
    t = vc.targets_of_cell(boxes, flips, 4, 2, 1)
    assert t.shape == (2, 2)
    np.testing.assert_allclose(t, [[1, 0], [0, 0]])


def test_vis_correspondence_writes_png(tmp_path):
    from mmmgc.evaluation import make_views
    vc = _load('vis_correspondence')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
    views, boxes, flips = make_views(img, 32, (0.3, 1.0), 0.2, seed=1)
    assert len(views) == 2 and views[0].shape == (32, 32, 3)
    assert boxes.shape == (2, 4) and flips.shape == (2, )
    out = vc.plot_correspondence(
        img,
        views,
        boxes,
        flips,
        4, [1, 2],
        str(tmp_path / 'c.png'),
        panel_px=60)
    assert_png(out, (180, 120))


# ---------------------------------------------------------------- attention
def test_last_block_attention_reproduces_the_layer_output():
    va = _load('vis_attention')
    vit = _tiny_vit()
    x = torch.randn(2, 3, 32, 32)
    attn_mod = vit.layers[-1].attn
    seen = {}
    h1 = attn_mod.register_forward_pre_hook(
        lambda m, a: seen.__setitem__('x', a[0]))
    h2 = attn_mod.register_forward_hook(
        lambda m, a, o: seen.__setitem__('y', o))
    attn = va.last_block_attention(vit, x)
    h1.remove()
    h2.remove()
    assert attn.shape == (2, 2, 17, 17)
    assert torch.allclose(attn.sum(-1), torch.ones(2, 2, 17), atol=1e-5)
    # attn @ v -> proj must give what the module computed
    b, n, _ = seen['x'].shape
    qkv = attn_mod.qkv(seen['x']).reshape(b, n, 3, 2, 16)
    v = qkv[:, :, 2].transpose(1, 2)
    y = (attn @ v).transpose(1, 2).reshape(b, n, 32)
    assert torch.allclose(attn_mod.proj(y), seen['y'], atol=1e-5)
    maps = va.cls_attention_maps(attn, 4)
    assert maps.shape == (2, 2, 4, 4)
    with pytest.raises(TypeError, match='VisionTransformer'):
        va.last_block_attention(torch.nn.Linear(2, 2), x)


def test_best_matches_and_accuracy_known_values():
    va = _load('vis_attention')
    t = torch.eye(4)
    idx, sim = va.best_matches(t, t[[2, 0, 1, 3]])
    assert idx.tolist() == [1, 2, 0, 3]
    assert torch.allclose(sim, torch.ones(4))
    targets = torch.zeros(4, 4)
    targets[0, 1] = targets[1, 1] = targets[2, 3] = 1.0  # patch 3: outside
    valid, acc = va.match_accuracy(idx, targets)
    assert valid.tolist() == [True, True, True, False]
    assert acc == pytest.approx(100 / 3)  # only patch 0 -> 1 is right


def test_vis_attention_writes_png(tmp_path):
    from mmmgc.evaluation import make_views, to_input
    va = _load('vis_attention')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    views, boxes, flips = make_views(img, 32, (0.3, 1.0), 0.2, seed=0)
    data = va.attention_figure_data(_tiny_vit(), to_input(img),
                                    to_input(np.stack(views)), boxes, flips, 8)
    assert data['cls_maps'].shape == (2, 4, 4)
    assert data['matches'].shape == (16, )
    out = va.plot_attention(
        img, views, data, str(tmp_path / 'a.png'), 'tiny', panel_px=50)
    assert_png(out, (150, 100))


# -------------------------------------------------------------------- t-SNE
def test_vis_tsne_writes_png(tmp_path):
    vt = _load('vis_tsne')
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    feats = rng.normal(size=(30, 8)) + 5 * labels[:, None]
    emb = vt.tsne_embed(feats, seed=0)
    assert emb.shape == (30, 2) and np.isfinite(emb).all()
    out = vt.plot_tsne([('a', emb), ('b', emb)],
                       labels, ['x', 'y', 'z'],
                       str(tmp_path / 't.png'),
                       panel_px=100)
    assert_png(out, (200, 100))
    with pytest.raises(ValueError, match='N >= 3'):
        vt.tsne_embed(np.zeros((2, 4)))


# -------------------------------------------------------------- loss curves
def test_loss_curves_from_scalars_json(tmp_path):
    vl = _load('vis_loss_curves')
    run = tmp_path / 'work'
    vis = run / '20240101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [
        dict(lr=0.1, loss=3.0, loss_c1=2.0, loss_c2=1.0, step=1),
        dict(lr=0.1, loss=2.0, loss_c1=1.5, loss_c2=0.5, step=2),
        dict(accuracy=50.0),  # no step: skipped
        dict(lr=0.1, loss=1.0, loss_c1=0.5, loss_c2=0.5, step=3),
    ]
    (vis / 'scalars.json').write_text('\n'.join(map(json.dumps, lines)))
    path = vl.find_scalars(str(run))
    assert path.endswith('scalars.json')
    series = vl.read_scalars(path)
    assert sorted(series) == ['loss', 'loss_c1', 'loss_c2']
    steps, vals = series['loss_c1']
    assert steps.tolist() == [1, 2, 3] and vals.tolist() == [2.0, 1.5, 0.5]
    np.testing.assert_allclose(
        vl.smooth(np.array([1., 3., 5., 7.]), 2), [1., 2., 4., 6.])
    out = vl.plot_loss_curves([('mgc', series)],
                              str(tmp_path / 'l.png'),
                              window=2,
                              panel_px=200)
    assert_png(out, (200, 150))
    (vis / 'scalars.json').write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match=':2: not JSON'):
        vl.read_scalars(path)
    with pytest.raises(FileNotFoundError):
        vl.find_scalars(str(tmp_path / 'nothing'))
