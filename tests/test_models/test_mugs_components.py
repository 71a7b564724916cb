"""Pure functions and small modules of Mugs: queue FIFO (and the reference
bug), top-k neighbours, centring, pairing, loss maths, heads and their
loss configs, the weight-normalised last layer, the aggregator. The
schedules, hooks and per-parameter clipping are in
``tests/test_engine/test_mugs_optim_and_schedules.py``."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmmgc.models.heads import MugsGroupHead, MugsInfoNCEHead
from mmmgc.models.heads.mugs_group_head import mugs_center_update
from mmmgc.models.losses import (MugsGroupLoss, MugsInfoNCELoss,
                                 mugs_crop_pairs, mugs_group_loss_matrix,
                                 mugs_infonce_loss_matrix, mugs_pair_weights)
from mmmgc.models.necks import (MugsAggregator, mugs_topk_neighbours,
                                query_only_block)
from mmmgc.models.utils import FeatureQueue


# ---------------------------------------------------------------- queue
class _ReferenceBugQueue(FeatureQueue):
    """The released code's buffer update: when the batch fits before the
    end, the pointer is advanced by TWICE the batch."""

    @torch.no_grad()
    def enqueue(self, x):
        ptr, n = int(self.ptr), x.shape[0]
        super().enqueue(x)
        if ptr + n <= self.length:
            self.ptr.fill_((ptr + 2 * n) % self.length)


def check_fifo(queue_cls) -> None:
    """FIFO order with a batch (3) that does not divide the length (5), and
    every slot written in turn."""
    q = queue_cls(length=5, dim=1, init='zeros')
    written = []
    for step in range(4):
        rows = torch.arange(3. * step + 1, 3. * step + 4).view(-1, 1)
        q.enqueue(rows)
        written += rows.flatten().tolist()
        # the queue holds exactly the newest min(5, n) rows ...
        newest = written[-5:]
        assert sorted(v for v in q.queue.flatten().tolist() if v) == \
            sorted(newest)
        # ... each in the slot where a FIFO writes it: row i -> i % 5
        for i, v in enumerate(written[-5:], start=len(written) - len(newest)):
            assert q.queue[i % 5, 0].item() == v
    assert int(q.ptr) == len(written) % 5
    assert q.ordered().flatten().tolist() == written[-5:]


def test_feature_queue_fifo_with_non_dividing_batch():
    check_fifo(FeatureQueue)


def test_reference_pointer_bug_fails_the_fifo_test():
    with pytest.raises(AssertionError):
        check_fifo(_ReferenceBugQueue)
    # and it really leaves slots unwritten: batch 2 into 8 slots
    q = _ReferenceBugQueue(length=8, dim=1, init='zeros')
    for step in range(8):
        q.enqueue(torch.full((2, 1), step + 1.))
    assert (q.queue == 0).sum() == 4  # half of the buffer never written


def test_queue_travels_in_state_dict():
    q = FeatureQueue(7, 3)
    q.enqueue(torch.randn(5, 3))
    q2 = FeatureQueue(7, 3)
    q2.load_state_dict(q.state_dict())
    assert torch.equal(q2.queue, q.queue)
    assert int(q2.ptr) == 5 and int(q2.num_filled) == 5


# ------------------------------------------------------------ neighbours
def test_topk_neighbours_match_brute_force():
    g = torch.Generator().manual_seed(1)
    bank = torch.randn(40, 6, generator=g) * torch.rand(40, 1, generator=g)
    query = torch.randn(5, 6, generator=g)
    out = mugs_topk_neighbours(query, bank, k=4)
    assert out.shape == (5, 4, 6)
    for i in range(5):
        sims = [
            float(
                torch.dot(query[i], bank[j]) /
                (query[i].norm() * bank[j].norm())) for j in range(40)
        ]
        best = np.argsort(sims)[::-1][:4]
        assert torch.equal(out[i], bank[best.copy()])


def test_topk_neighbours_restricted_to_written_rows():
    bank = torch.zeros(10, 2)
    bank[:3] = torch.tensor([[1., 0.], [0., 1.], [-1., 0.]])
    bank[3:] = torch.tensor([0.9, 0.1])  # never written, must not count
    out = mugs_topk_neighbours(torch.tensor([[1., 0.]]), bank, 2, num_valid=3)
    assert out[0].tolist() == [[1., 0.], [0., 1.]]
    with pytest.raises(ValueError, match='k=11'):
        mugs_topk_neighbours(torch.ones(1, 2), bank, 11)


# -------------------------------------------------------------- centring
def test_center_update_known_values():
    center = torch.tensor([[1., 0., 2.]])
    logits = torch.tensor([[0., 2., 4.], [2., 0., 0.]])  # mean [1, 1, 2]
    new = mugs_center_update(center, logits, 0.9)
    assert torch.allclose(new, torch.tensor([[1., 0.1, 2.]]))
    assert torch.equal(center, torch.tensor([[1., 0., 2.]]))  # not in place


def test_group_head_update_center_uses_all_teacher_crops():
    head = MugsGroupHead(8, 16, 4, num_prototypes=3, center_momentum=0.5)
    t = torch.tensor([[[2., 0., 0.]], [[0., 4., 0.]]])  # (T=2, B=1, K=3)
    head.update_center(t)
    assert torch.allclose(head.center, torch.tensor([[0.5, 1., 0.]]))


# --------------------------------------------------------------- pairing
def test_pairs_and_weights():
    pairs = mugs_crop_pairs(2, 10)
    assert len(pairs) == 22 and (0, 0) not in pairs and (1, 1) not in pairs
    w = mugs_pair_weights(2, 10)
    assert w.sum().item() == pytest.approx(1.0)
    assert w[0, 1].item() == pytest.approx(0.25)  # 1/2 * 1/2 gg pairs
    assert w[0, 5].item() == pytest.approx(0.025)  # 1/2 * 1/20 local
    assert w[0, 0] == 0 and w[1, 1] == 0
    u = mugs_pair_weights(2, 10, 'uniform')
    assert torch.allclose(u[u > 0], torch.full((22, ), 1 / 22))
    two = mugs_pair_weights(2, 0)  # 2-crop variant (Table 9)
    assert two.tolist() == [[0., 0.5], [0.5, 0.]]
    with pytest.raises(ValueError, match='pair weighting'):
        mugs_pair_weights(2, 1, 'mean')


# ----------------------------------------------------------- loss maths
def test_infonce_matrix_equals_cross_entropy_over_logits():
    g = torch.Generator().manual_seed(0)
    preds = F.normalize(torch.randn(3, 4, 8, generator=g), dim=-1)
    targets = F.normalize(torch.randn(2, 4, 8, generator=g), dim=-1)
    queue = F.normalize(torch.randn(20, 8, generator=g), dim=-1)
    out = mugs_infonce_loss_matrix(preds, targets, queue, 0.2)
    for t in range(2):
        for s in range(3):
            pos = (preds[s] * targets[t]).sum(-1, keepdim=True)
            logits = torch.cat([pos, preds[s] @ queue.t()], 1) / 0.2
            ref = F.cross_entropy(logits, torch.zeros(4, dtype=torch.long))
            assert out[t, s].item() == pytest.approx(ref.item(), rel=1e-5)


def test_group_loss_matrix_equals_soft_cross_entropy():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 4, 6, generator=g)
    t = torch.randn(2, 4, 6, generator=g)
    c = torch.randn(1, 6, generator=g)
    out = mugs_group_loss_matrix(s, t, c, 0.1, 0.04)
    p_t = F.softmax((t[1] - c) / 0.04, -1)
    ref = -(p_t * F.log_softmax(s[2] / 0.1, -1)).sum(-1).mean()
    assert out[1, 2].item() == pytest.approx(ref.item(), rel=1e-5)


def test_infonce_head_loss_is_weighted_mean_and_queue_untouched():
    head = MugsInfoNCEHead(8, 16, 4, pred_hid_channels=16, queue_length=10)
    before = head.queue.get()
    preds = F.normalize(torch.randn(4, 3, 4), dim=-1)  # 2 global, 2 local
    targets = F.normalize(torch.randn(2, 3, 4), dim=-1)
    loss = head.loss(preds, targets)
    m = mugs_infonce_loss_matrix(preds, targets, before, 0.2)
    ref = 0.5 * (m[0, 1] + m[1, 0]) / 2 + 0.5 * m[:, 2:].mean()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    assert torch.equal(head.queue.queue, before)
    head.enqueue(targets.reshape(-1, 4))
    assert int(head.queue.num_filled) == 6


def test_loss_modules_weight_the_pair_matrix_by_their_pair_weighting():
    """The registered losses are the pair matrix weighted by
    ``mugs_pair_weights`` of their own ``pair_weighting``: 2 global and 2
    local crops, half/half (default) and uniform by hand."""
    g = torch.Generator().manual_seed(3)
    preds = F.normalize(torch.randn(4, 3, 8, generator=g), dim=-1)
    targets = F.normalize(torch.randn(2, 3, 8, generator=g), dim=-1)
    queue = F.normalize(torch.randn(10, 8, generator=g), dim=-1)
    m = mugs_infonce_loss_matrix(preds, targets, queue, 0.2)
    half = 0.5 * (m[0, 1] + m[1, 0]) / 2 + 0.5 * m[:, 2:].mean()
    uniform = (m[0, 1] + m[1, 0] + m[:, 2:].sum()) / 6
    assert MugsInfoNCELoss()(preds, targets, queue, 0.2).item() == \
        pytest.approx(half.item(), rel=1e-6)
    assert MugsInfoNCELoss('uniform')(preds, targets, queue,
                                      0.2).item() == pytest.approx(
                                          uniform.item(), rel=1e-6)
    s, t, c = (torch.randn(4, 3, 6,
                           generator=g), torch.randn(2, 3, 6, generator=g),
               torch.randn(1, 6, generator=g))
    m = mugs_group_loss_matrix(s, t, c, 0.1, 0.04)
    half = 0.5 * (m[0, 1] + m[1, 0]) / 2 + 0.5 * m[:, 2:].mean()
    assert MugsGroupLoss()(s, t, c, 0.1, 0.04).item() == pytest.approx(
        half.item(), rel=1e-6)
    with pytest.raises(ValueError, match='pair_weighting'):
        MugsGroupLoss('mean')


def test_heads_build_their_loss_from_the_loss_config():
    head = MugsInfoNCEHead(
        8,
        16,
        4,
        pred_hid_channels=16,
        queue_length=10,
        loss=dict(type='MugsInfoNCELoss', pair_weighting='uniform'))
    assert isinstance(head.loss_module, MugsInfoNCELoss)
    assert head.loss_module.pair_weighting == 'uniform'
    group = MugsGroupHead(8, 16, 4, num_prototypes=3)
    assert isinstance(group.loss_module, MugsGroupLoss)
    assert group.loss_module.pair_weighting == 'half_global_half_local'
    # the losses hold no state: the heads' state dicts are unchanged
    assert not any('loss_module' in k for k in head.state_dict())
    assert not any('loss_module' in k for k in group.state_dict())


@pytest.mark.parametrize('build, message', [
    (lambda: MugsInfoNCEHead(8, hidden_channels=16),
     'MugsInfoNCEHead.hidden_channels was renamed '
     'MugsInfoNCEHead.hid_channels'),
    (lambda: MugsInfoNCEHead(8, pred_hidden_channels=16),
     'MugsInfoNCEHead.pred_hidden_channels was renamed '
     'MugsInfoNCEHead.pred_hid_channels'),
    (lambda: MugsInfoNCEHead(8, pair_weighting='uniform'),
     'MugsInfoNCEHead.pair_weighting was renamed '
     'MugsInfoNCEHead.loss.pair_weighting'),
    (lambda: MugsGroupHead(8, hidden_channels=16),
     'MugsGroupHead.hidden_channels was renamed MugsGroupHead.hid_channels'),
    (lambda: MugsGroupHead(8, pair_weighting='uniform'),
     'MugsGroupHead.pair_weighting was renamed '
     'MugsGroupHead.loss.pair_weighting'),
    (lambda: MugsAggregator(16, 2, 32, depth=1),
     'MugsAggregator.depth was renamed MugsAggregator.num_layers'),
])
def test_old_argument_names_name_the_new_ones(build, message):
    with pytest.raises(ValueError) as err:
        build()
    assert str(err.value) == message
    with pytest.raises(TypeError, match='unexpected'):
        MugsGroupHead(8, hid_channel=16)  # a typo is no rename


def test_weight_norm_last_layer_rows_have_norm_g():
    head = MugsGroupHead(8, 16, 4, num_prototypes=5)
    w = head.last_layer.weight()
    assert torch.allclose(w.norm(dim=1), torch.ones(5), atol=1e-6)


def test_aggregator_depth_and_output():
    agg = MugsAggregator(16, 2, 32, num_layers=1)
    assert len(agg.layers) == 1
    assert len(MugsAggregator(16, 2, 32).layers) == 2  # the paper's default
    out = agg(torch.randn(5, 16), torch.randn(5, 3, 16))
    assert isinstance(out, tuple) and out[0].shape == (5, 16)
    with pytest.raises(ValueError, match='neighbours'):
        agg(torch.randn(5, 16), torch.randn(4, 3, 16))


@pytest.mark.parametrize('depth', [1, 2])
def test_aggregator_query_only_last_block_is_exact(depth):
    """The last block computes token 0 alone; output and every gradient
    equal running all 1 + k tokens through the plain blocks."""
    torch.manual_seed(0)
    agg = MugsAggregator(16, 2, 32, num_layers=depth)
    agg.init_weights()
    query = torch.randn(6, 16, requires_grad=True)
    neighbours = torch.randn(6, 4, 16)
    fast = agg(query, neighbours)[0]
    x = torch.cat([query.unsqueeze(1), neighbours], dim=1)
    for layer in agg.layers:
        x = layer(x)
    ref = agg.norm(x[:, 0])
    assert torch.allclose(fast, ref, atol=1e-6)
    params = [query] + list(agg.parameters())
    g_fast = torch.autograd.grad((fast * ref.detach()).sum(), params)
    g_ref = torch.autograd.grad((ref * ref.detach()).sum(), params)
    for a, b in zip(g_fast, g_ref):
        assert torch.allclose(a, b, atol=1e-5)
    # the query row of the last block matters, the other rows do not
    x = torch.cat([query.unsqueeze(1), neighbours], dim=1).detach()
    y = query_only_block(agg.layers[-1], x)
    assert torch.allclose(y, agg.layers[-1](x)[:, :1], atol=1e-6)


@pytest.mark.parametrize('loss_cls', [MugsGroupLoss, MugsInfoNCELoss])
def test_losses_reject_an_unknown_pair_weighting_by_name(loss_cls):
    with pytest.raises(
            ValueError,
            match=f'{loss_cls.__name__}: pair_weighting must be '
            "one of .*got 'mean'"):
        loss_cls(pair_weighting='mean')


def test_pair_loss_reduction_weights_each_pair():
    """2 global + 1 local crop, the released weighting: 1/2 x mean of the
    2 global-global pairs + 1/2 x the 2 local-global pairs' mean."""
    losses = torch.tensor([[0., 1., 2.], [3., 0., 4.]])
    got = MugsGroupLoss().reduce_pairs(losses)
    assert got.item() == pytest.approx(0.5 * (1 + 3) / 2 + 0.5 * (2 + 4) / 2)
