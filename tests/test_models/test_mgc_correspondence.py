"""correspondence_targets against a brute-force reference and hand cases."""
import numpy as np
import pytest
import torch

from mmmgc.models.utils import correspondence_targets, overlapping_cells
from tests._utils.mgc_reference import brute_force_targets


def random_geometry(b, img=300, seed=0):
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(2 * b):
        w, h = rng.integers(20, img, 2)
        x, y = rng.integers(0, img - w + 1), rng.integers(0, img - h + 1)
        boxes.append((x, y, w, h))
    boxes = torch.tensor(boxes, dtype=torch.float32).view(b, 2, 4)
    flips = torch.from_numpy(rng.random((b, 2)) < 0.5)
    return boxes[:, 0], flips[:, 0], boxes[:, 1], flips[:, 1]


def test_selected_rows_and_overlapping_cells_are_those_of_the_full_result():
    b1, f1, b2, f2 = random_geometry(5, seed=4)
    b2[0] = torch.tensor([b1[0, 0] + b1[0, 2] + 1, b1[0, 1], 10., 10.])
    for c in (1, 2, 4):
        full = correspondence_targets(b1, f1, b2, f2, 8, c)
        valid = overlapping_cells(b1, f1, b2, f2, 8, c)
        assert torch.equal(valid, full.sum(-1) > 0)
        assert not valid[0].any() and valid[1:].any(1).all()
        img, cell = valid.nonzero(as_tuple=True)
        img, cell = img.flip(0), cell.flip(0)  # any order
        rows = correspondence_targets(b1, f1, b2, f2, 8, c, img, cell)
        assert rows.shape == (len(img), full.shape[-1])
        assert torch.equal(rows, full[img, cell])
    with pytest.raises(ValueError, match='both img_idx and cell_idx'):
        correspondence_targets(b1, f1, b2, f2, 8, 2, img_idx=img)


@pytest.mark.parametrize('grid,granularities', [(8, (1, 2, 4, 8)),
                                                (14, (1, 2, 7, 14))])
def test_matches_brute_force(grid, granularities):
    b1, f1, b2, f2 = random_geometry(6, seed=grid)
    # include a disjoint pair and an identical flipped pair
    b2[0] = torch.tensor([b1[0, 0] + b1[0, 2] + 1, b1[0, 1], 10., 10.])
    b2[1], f2[1] = b1[1], ~f1[1]
    for c in granularities:
        w = correspondence_targets(b1, f1, b2, f2, grid, c)
        ref = brute_force_targets(b1.numpy(), f1.numpy(), b2.numpy(),
                                  f2.numpy(), grid, c)
        g = grid // c
        assert w.shape == (6, g * g, g * g) and w.dtype == torch.float32
        np.testing.assert_allclose(w.numpy(), ref, atol=1e-6, rtol=0)
        sums = w.sum(-1)
        assert torch.all(((sums - 1).abs() < 1e-5) | (sums == 0))
    assert correspondence_targets(b1, f1, b2, f2, grid, 1)[0].abs().sum() == 0


def test_identical_views_give_identity():
    box = torch.tensor([[10., 20., 64., 48.]])
    for flip in (False, True):
        f = torch.tensor([flip])
        w = correspondence_targets(box, f, box, f, 8, 2)
        torch.testing.assert_close(w[0], torch.eye(16))


def test_flipped_view_gives_mirrored_permutation():
    box = torch.tensor([[0., 0., 40., 40.]])
    w = correspondence_targets(box, torch.tensor([False]), box,
                               torch.tensor([True]), 4, 1)
    perm = torch.zeros(16, 16)
    for r in range(4):
        for col in range(4):
            perm[r * 4 + col, r * 4 + (3 - col)] = 1
    torch.testing.assert_close(w[0], perm)


def test_disjoint_views_give_zeros():
    b1 = torch.tensor([[0., 0., 10., 10.]])
    b2 = torch.tensor([[10., 0., 10., 10.]])  # touches, area 0
    f = torch.tensor([False])
    assert correspondence_targets(b1, f, b2, f, 2, 1).abs().sum() == 0


def test_hand_computed_partial_overlap():
    # view 1: x in [0, 8), view 2: x in [4, 12); 2 x 2 grids of 4 px cells.
    b1 = torch.tensor([[0., 0., 8., 8.]])
    b2 = torch.tensor([[4., 0., 8., 8.]])
    f = torch.tensor([False])
    w = correspondence_targets(b1, f, b2, f, 2, 1)[0]
    expected = torch.zeros(4, 4)
    expected[1, 0] = 1  # row 0, col 1 -> view 2 row 0, col 0
    expected[3, 2] = 1
    torch.testing.assert_close(w, expected)
    # half-cell shift: view 2 x in [2, 10): cell (0, 0) of view 1 covers
    # x in [0, 4): overlaps view-2 cell (0, 0) (x in [2, 6)) over 2 px only.
    b2 = torch.tensor([[2., 0., 8., 8.]])
    w = correspondence_targets(b1, f, b2, f, 2, 1)[0]
    assert w[0, 0] == 1 and w[1, 0] == 0.5 and w[1, 1] == 0.5


def test_bad_granularity_is_value_error():
    b = torch.zeros(1, 4)
    f = torch.zeros(1, dtype=torch.bool)
    with pytest.raises(ValueError, match='does not divide'):
        correspondence_targets(b, f, b, f, 14, 4)
    with pytest.raises(ValueError, match='boxes1'):
        correspondence_targets(torch.zeros(1, 3), f, b, f, 14, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_cuda_matches_cpu():
    b1, f1, b2, f2 = random_geometry(4)
    cpu = correspondence_targets(b1, f1, b2, f2, 14, 2)
    gpu = correspondence_targets(b1.cuda(), f1.cuda(), b2.cuda(), f2.cuda(),
                                 14, 2)
    torch.testing.assert_close(gpu.cpu(), cpu)
