"""Label propagation and DAVIS J&F maths: known values."""
import numpy as np
import pytest
import torch

from mmmgc.evaluation.davis_metrics import (boundary_f_measure, davis_j_and_f,
                                            mask_boundary, region_similarity,
                                            sequence_j_and_f)
from mmmgc.evaluation.label_propagation import (labels_to_one_hot,
                                                neighbourhood_mask,
                                                normalise_label_maps,
                                                propagate_labels,
                                                propagate_video,
                                                soft_labels_to_mask)


def test_neighbourhood_mask_is_square_window():
    m = neighbourhood_mask(3, 4, 1)
    assert m.shape == (12, 12)
    # position (0, 0) sees (0,0), (0,1), (1,0), (1,1) only
    assert m[0].nonzero().flatten().tolist() == [0, 1, 4, 5]
    # centre (1, 1) sees its 3x3 block
    assert m[5].sum() == 9
    assert neighbourhood_mask(3, 4, 0).all()
    assert torch.equal(m, m.t())


def test_propagate_labels_weights_and_topk():
    # 1-D features: target patch 0 is [1, 0]; context has two patches
    ctx = torch.tensor([[[1., 0.], [0.6, 0.8]]])  # (M=1, N=2, D=2)
    tgt = torch.tensor([[1., 0.], [0., 1.]])
    labels = torch.tensor([[[1., 0.], [0., 1.]]])  # (M, C=2, N=2)
    out = propagate_labels(tgt, ctx, labels, topk=2, temperature=0.1)
    # target 0: sims (1, 0.6) -> weights softmax((10, 6))
    w = torch.softmax(torch.tensor([10., 6.]), 0)
    assert torch.allclose(out[:, 0], w, atol=1e-6)
    # target 1: sims (0, 0.8) -> class 1 dominates
    w1 = torch.softmax(torch.tensor([0., 8.]), 0)
    assert torch.allclose(out[:, 1], w1, atol=1e-6)
    assert torch.allclose(out.sum(0), torch.ones(2))
    # topk=1: a hard copy of the nearest neighbour's label
    out1 = propagate_labels(tgt, ctx, labels, topk=1)
    assert torch.equal(out1, torch.eye(2))
    # a window that hides the nearest neighbour forces the other one
    mask = torch.tensor([[False, True], [True, True]])
    out2 = propagate_labels(tgt, ctx, labels, topk=1, mask=mask)
    assert out2[:, 0].tolist() == [0., 1.]
    with pytest.raises(ValueError, match='context_labels'):
        propagate_labels(tgt, ctx, labels[:, :, :1])


def test_propagate_video_tracks_a_moving_patch():
    """Features that encode (object id, position) track a moving object:
    an exact copy of the label wherever the nearest neighbour is unique."""
    h, w, T = 4, 6, 5
    torch.manual_seed(0)
    base = torch.randn(h * w, 16)
    obj_feat = torch.randn(16) * 3
    frames, gts = [], []
    for t in range(T):
        f = base.clone()
        pos = t  # object at column t of row 1
        f[1 * w + pos] = obj_feat
        frames.append(f)
        g = np.zeros((h, w), np.int64)
        g[1, pos] = 1
        gts.append(g)
    first = labels_to_one_hot(gts[0], 2)
    out = propagate_video(
        frames,
        first, (h, w),
        n_last_frames=2,
        topk=1,
        temperature=0.1,
        radius=2)
    assert len(out) == T
    for t in range(T):
        assert torch.equal(out[t].argmax(0).reshape(h, w),
                           torch.as_tensor(gts[t])), t


def test_soft_labels_to_mask_and_normalise():
    soft = torch.zeros(2, 4)
    soft[0] = torch.tensor([1., 1., 0., 0.])
    soft[1] = 1 - soft[0]
    m = soft_labels_to_mask(soft, (2, 2), patch_size=4, out_hw=(8, 8))
    assert m.shape == (8, 8) and m.dtype == np.uint8
    assert (m[:4] == 0).all() and (m[4:] == 1).all()
    x = torch.tensor([[[2., 4.]], [[-1., -2.]]])
    n = normalise_label_maps(x)
    assert n[0].tolist() == [[0., 1.]] and n[1].tolist() == [[-1., -2.]]
    with pytest.raises(ValueError, match='outside'):
        labels_to_one_hot(np.array([[0, 3]]), 2)


def test_region_similarity_known_values():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[:, :5] = True
    b[:, 2:6] = True  # inter 30, union 60
    assert region_similarity(a, b) == pytest.approx(0.5)
    assert region_similarity(b * 0, a * 0) == 1.0
    void = np.zeros_like(a)
    void[:, 5] = True  # removes 10 px of b only: inter 30, union 50
    assert region_similarity(a, b, void) == pytest.approx(0.6)


def test_boundary_f_measure():
    a = np.zeros((40, 40), bool)
    a[10:30, 10:30] = True
    assert mask_boundary(a).sum() == 4 * 19
    assert boundary_f_measure(a, a) == 1.0
    # a 1-px shift is inside the tolerance ceil(0.008 * 56.6) = 1
    assert boundary_f_measure(np.roll(a, 1, axis=1), a) == 1.0
    # a 5-px shift: the two vertical edges of the prediction (and 5 px of
    # each horizontal one) are outside the 1-px tolerance
    f = boundary_f_measure(np.roll(a, 5, axis=1), a)
    assert 0.3 < f < 0.8
    # explicit pixel tolerance >= 5 accepts it again
    assert boundary_f_measure(np.roll(a, 5, axis=1), a, bound_th=5) == 1.0
    assert boundary_f_measure(a, np.zeros_like(a)) == 0.0
    assert boundary_f_measure(a * 0, a * 0) == 1.0


def test_sequence_and_benchmark_means():
    gt = np.zeros((4, 20, 20), np.uint8)
    gt[:, 2:8, 2:8] = 1
    gt[:, 12:18, 12:18] = 2
    gt[0, 0, 0] = 255  # void in frame 0 is not an object
    pred = gt.copy()
    pred[0] = 0  # first frame is not scored
    pred[2, 12:18, 12:18] = 0  # object 2 lost in frame 2
    res = sequence_j_and_f(list(pred), list(gt))
    assert sorted(res) == [1, 2]
    assert res[1] == dict(J=1.0, F=1.0)
    assert res[2]['J'] == pytest.approx(0.5)  # frames 1, 2 scored
    assert res[2]['F'] == pytest.approx(0.5)
    m = davis_j_and_f({'a': res})
    assert m['J_mean'] == pytest.approx(0.75)
    assert m['JF_mean'] == pytest.approx(0.75)
    with pytest.raises(ValueError, match='predictions'):
        sequence_j_and_f(list(pred[:2]), list(gt))
