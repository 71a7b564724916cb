"""Query sampling, key selection and the Eq. 3 loss against references."""
import numpy as np
import pytest
import torch

from mmmgc.models.heads import MGCHead
from mmmgc.models.losses import hard_pair_infonce, soft_target_cross_entropy
from mmmgc.models.utils import (CellPairs, all_key_cells,
                                correspondence_targets, overlapped_key_cells,
                                sample_cell_pairs, sample_query_cells,
                                targets_over_keys)
from mmmgc.models.utils.mgc_sampling import hashed_uniform
from tests._utils.mgc_reference import brute_force_targets, dense_eq3_loss


def geometry(b, seed):
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(b):
        x, y = rng.integers(0, 40, 2)
        boxes.append([(x, y, 60, 50),
                      (x + rng.integers(-20, 20), y + rng.integers(-20, 20),
                       rng.integers(20, 70), rng.integers(20, 70))])
    boxes = torch.tensor(boxes, dtype=torch.float32)
    flips = torch.from_numpy(rng.random((b, 2)) < 0.5)
    return boxes, flips


def test_sample_query_cells_valid_distinct_and_capped():
    valid = torch.rand(50, 16) < 0.4
    valid[0] = False
    valid[1] = False
    valid[1, 3] = True
    qb, qi = sample_query_cells(valid, 5, seeds=torch.arange(50))
    assert valid[qb, qi].all()
    counts = torch.bincount(qb, minlength=50)
    assert torch.equal(counts, valid.sum(1).clamp(max=5))
    assert qi[qb == 1].tolist() == [3]
    for b in range(50):
        cells = qi[qb == b]
        assert len(set(cells.tolist())) == len(cells)
    assert torch.all(qb[1:] >= qb[:-1])  # grouped by image


def test_sampling_is_uniform_among_valid_cells():
    valid = torch.zeros(4000, 6, dtype=torch.bool)
    valid[:, [0, 2, 5]] = True
    g = torch.Generator().manual_seed(1)
    _, qi = sample_query_cells(valid, 1, generator=g)
    freq = torch.bincount(qi, minlength=6).float() / 4000
    assert freq[[1, 3, 4]].sum() == 0
    assert torch.allclose(freq[[0, 2, 5]], torch.full((3, ), 1 / 3), atol=0.03)


def test_seeds_pin_choices_independent_of_batch_layout():
    valid = torch.rand(8, 64) < 0.5
    seeds = torch.arange(100, 108)
    qb, qi = sample_query_cells(valid, 4, seeds=seeds, salt=3)
    # the same samples in another order / split pick the same cells
    perm = torch.tensor([5, 2, 7, 0, 1, 6, 3, 4])
    qb2, qi2 = sample_query_cells(valid[perm], 4, seeds=seeds[perm], salt=3)
    for new_pos, old in enumerate(perm.tolist()):
        assert sorted(qi2[qb2 == new_pos].tolist()) == sorted(
            qi[qb == old].tolist())
    half_b, half_i = sample_query_cells(valid[4:], 4, seeds=seeds[4:], salt=3)
    assert sorted(half_i[half_b == 0].tolist()) == sorted(qi[qb == 4].tolist())
    # another salt gives other draws; generators are reproducible
    u1, u2 = hashed_uniform(seeds, 64, 0), hashed_uniform(seeds, 64, 1)
    assert not torch.equal(u1, u2) and 0 <= u1.min() and u1.max() < 1
    g1, g2 = (torch.Generator().manual_seed(7) for _ in range(2))
    assert torch.equal(
        sample_query_cells(valid, 4, generator=g1)[1],
        sample_query_cells(valid, 4, generator=g2)[1])


def test_keys_and_targets_against_brute_force():
    boxes, flips = geometry(5, seed=3)
    grid, c = 8, 2
    w = correspondence_targets(boxes[:, 0], flips[:, 0], boxes[:, 1],
                               flips[:, 1], grid, c)
    ref = brute_force_targets(boxes[:, 0].numpy(), flips[:, 0].numpy(),
                              boxes[:, 1].numpy(), flips[:,
                                                         1].numpy(), grid, c)
    qb, qi = sample_query_cells(w.sum(-1) > 0, 3, seeds=torch.arange(5))
    kb, kj = overlapped_key_cells(w[qb, qi], qb, 5)
    for b in range(5):
        expect = sorted({
            j
            for i in qi[qb == b].tolist()
            for j in range(16) if ref[b, i, j] > 0
        })
        assert kj[kb == b].tolist() == expect
    t = targets_over_keys(w[qb, qi], qb, kb, kj, 5)
    for n in range(len(qb)):
        for m in range(len(kb)):
            want = ref[qb[n], qi[n], kj[m]] if qb[n] == kb[m] else 0.0
            assert abs(float(t[n, m]) - want) < 1e-6
    torch.testing.assert_close(t.sum(1), torch.ones(len(qb)))


@pytest.mark.parametrize('key_cells', ['overlap', 'all'])
@pytest.mark.parametrize('pin', ['seeds', 'generator'])
def test_sample_cell_pairs_gives_rows_of_correspondence_targets(
        key_cells, pin):
    """The training path (sample_cell_pairs) against the pure Eq. 2
    function: each query's targets are its row of correspondence_targets
    restricted to the keys of its image, bit for bit."""
    b, grid = 6, 8
    boxes, flips = geometry(b, seed=7)
    boxes[0, 1] = torch.tensor([200., 200., 10., 10.])  # disjoint views
    for c, num in ((1, 5), (2, 3), (4, 2)):
        kw = dict(seeds=torch.arange(b)) if pin == 'seeds' else dict(
            generator=torch.Generator().manual_seed(c))
        pairs = sample_cell_pairs(
            boxes, flips, grid, c, num, key_cells, salt=2 * c, **kw)
        assert [(p.q_view, p.k_view) for p in pairs] == [(0, 1), (1, 0)]
        for p in pairs:
            assert isinstance(p, CellPairs)
            w = correspondence_targets(boxes[:, p.q_view], flips[:, p.q_view],
                                       boxes[:, p.k_view], flips[:, p.k_view],
                                       grid, c)
            valid = w.sum(-1) > 0
            assert not valid[0].any()  # no query from the disjoint pair
            assert valid[p.q_img, p.q_cell].all()
            assert torch.equal(
                torch.bincount(p.q_img, minlength=b),
                valid.sum(1).clamp(max=num))
            same = p.q_img[:, None] == p.k_img[None]
            expect = w[p.q_img[:, None], p.q_cell[:, None], p.k_cell[None]]
            assert torch.equal(p.targets, expect * same)
            assert p.targets.dtype == torch.float32
            torch.testing.assert_close(
                p.targets.sum(1), torch.ones(len(p.q_img)))
            if key_cells == 'all':
                assert len(p.k_img) == b * w.shape[-1]
            else:  # exactly the cells with target mass
                hit = torch.zeros(b, w.shape[-1], dtype=torch.bool)
                for img, cell in zip(p.q_img.tolist(), p.q_cell.tolist()):
                    hit[img] |= w[img, cell] > 0
                assert torch.equal(
                    torch.stack([p.k_img, p.k_cell], 1), hit.nonzero())
    # one direction only: the first direction's draws (same salt)
    one = sample_cell_pairs(
        boxes,
        flips,
        grid,
        2,
        3,
        key_cells,
        symmetric=False,
        seeds=torch.arange(b),
        salt=4)
    two = sample_cell_pairs(
        boxes, flips, grid, 2, 3, key_cells, seeds=torch.arange(b), salt=4)
    assert len(one) == 1 and all(
        torch.equal(x, y) for x, y in zip(one[0][2:], two[0][2:]))
    with pytest.raises(ValueError, match='key_cells'):
        sample_cell_pairs(boxes, flips, grid, 2, 3, 'some')


@pytest.mark.parametrize('key_mode,num', [('overlap', 3), ('all', 16)])
def test_head_loss_matches_dense_eq3(key_mode, num):
    torch.manual_seed(0)
    b, grid, c, d, tau = 4, 8, 2, 8, 0.2
    boxes, flips = geometry(b, seed=5)
    w = correspondence_targets(boxes[:, 0], flips[:, 0], boxes[:, 1],
                               flips[:, 1], grid, c)
    m = w.shape[1]
    qb, qi = sample_query_cells(w.sum(-1) > 0, num, seeds=torch.arange(b))
    if key_mode == 'overlap':
        kb, kj = overlapped_key_cells(w[qb, qi], qb, b)
    else:
        kb, kj = all_key_cells(b, m, w.device)
    targets = targets_over_keys(w[qb, qi], qb, kb, kj, b)
    q_all, z_all = torch.randn(b, m, d), torch.randn(b, m, d)
    head = MGCHead(
        in_channels=d,
        hid_channels=16,
        out_channels=d,
        num_branches=1,
        temperature=tau)
    loss = head.contrast(q_all[qb, qi], z_all[kb, kj], targets, b)
    queries = [qi[qb == i].tolist() for i in range(b)]
    keys = [kj[kb == i].tolist() for i in range(b)]
    if key_mode == 'all':  # every valid cell is a query: literal Eq. 3
        assert [sorted(x) for x in queries] == [
            torch.nonzero(w[i].sum(-1) > 0).flatten().tolist()
            for i in range(b)
        ]
    ref = dense_eq3_loss(q_all.double().numpy(),
                         z_all.double().numpy(),
                         w.double().numpy(), queries, keys, tau)
    assert abs(loss.item() - ref) < 1e-4 * max(1.0, abs(ref))


def test_loss_functions_known_values():
    logits = torch.log(torch.tensor([[1., 1., 2.], [3., 1., 0.]]) + 1e-30)
    targets = torch.tensor([[0.5, 0.5, 0.], [1., 0., 0.]])
    # row 0: -(0.5 log .25 + 0.5 log .25); row 1: -log .75; over N = 2
    expected = (-np.log(0.25) - np.log(0.75)) / 2
    assert abs(
        soft_target_cross_entropy(logits, targets, 2).item() - expected) < 1e-6
    # hard: pairs (0,0), (0,1), (1,0): mean of -log p
    expected_hard = (-2 * np.log(0.25) - np.log(0.75)) / 3
    assert abs(hard_pair_infonce(logits, targets).item() -
               expected_hard) < 1e-6
    # zero rows (padding) do not count in either mode
    pad_t = torch.cat([targets, torch.zeros(1, 3)])
    pad_l = torch.cat([logits, torch.zeros(1, 3)])
    assert abs(hard_pair_infonce(pad_l, pad_t).item() - expected_hard) < 1e-6
    assert abs(soft_target_cross_entropy(pad_l, pad_t, 2).item() -
               expected) < 1e-6


def test_loss_stays_fp32_under_autocast():
    head = MGCHead(
        in_channels=8,
        hid_channels=16,
        out_channels=8,
        num_branches=1,
        temperature=0.1)
    q = torch.randn(6, 8, requires_grad=True)
    k = torch.randn(5, 8)
    t = torch.softmax(torch.randn(6, 5), 1)
    ref = head.contrast(q, k, t, 3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = head.contrast(q.bfloat16(), k.bfloat16(), t, 3)
    assert out.dtype == torch.float32
    assert abs(out.item() - ref.item()) < 0.05 * abs(ref.item())
