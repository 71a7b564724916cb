"""Shared machinery (EMA teacher, FIFO queue, MLP builder, global BN,
collectives of :mod:`mmmgc.utils.dist`) that MGC and Mugs both use."""
import pytest
import torch
import torch.nn as nn

from mmmgc.models.utils import (EMATeacher, FeatureQueue, GlobalBatchNorm1d,
                                build_mlp, cosine_decay, ema_update_)
from mmmgc.utils.dist import (all_gather_sizes, all_reduce_mean,
                              all_reduce_sum_with_grad,
                              concat_all_gather_varsize, is_multi_rank)


def test_cosine_decay_endpoints_and_midpoint():
    assert cosine_decay(0, 100, 0.996, 1.0) == pytest.approx(0.996)
    assert cosine_decay(100, 100, 0.996, 1.0) == pytest.approx(1.0)
    assert cosine_decay(50, 100, 0.996, 1.0) == pytest.approx(0.998)
    assert cosine_decay(500, 100) == pytest.approx(1.0)  # clamped


def test_ema_update_convention_decay_is_weight_of_old():
    teacher, student = nn.Linear(2, 2), nn.Linear(2, 2)
    with torch.no_grad():
        teacher.weight.fill_(1.0)
        student.weight.fill_(0.0)
    ema_update_(teacher, student, decay=0.9)
    assert torch.allclose(teacher.weight, torch.full((2, 2), 0.9))


def test_ema_teacher_moves_and_gets_no_gradient():
    student = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    teacher = EMATeacher(student, ema_decay=0.5, ema_end_decay=1.0)
    assert all(not p.requires_grad for p in teacher.parameters())
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    before = [p.clone() for p in teacher.parameters()]
    for step in range(3):
        teacher_out = teacher(torch.randn(8, 4))
        assert not teacher_out.requires_grad
        loss = student(torch.randn(8, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        d = teacher.update(student, step=step, max_steps=10)
        assert d == pytest.approx(cosine_decay(step, 10, 0.5, 1.0))
    assert all(p.grad is None for p in teacher.parameters())
    after = list(teacher.parameters())
    moved = [not torch.equal(a, b) for a, b in zip(before, after)]
    assert all(moved)
    # buffers follow the student exactly
    assert torch.equal(teacher.module[1].running_mean, student[1].running_mean)


def test_ema_teacher_reads_message_hub():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('mmmgc_test_ema')
    hub.update_info('iter', 5)
    hub.update_info('max_iters', 10)
    t = EMATeacher(nn.Linear(1, 1), 0.99, 1.0)
    assert t.decay_at() == pytest.approx(0.995)


def test_queue_fifo_and_wraparound():
    q = FeatureQueue(length=5, dim=1, init='zeros')
    q.enqueue(torch.tensor([[1.], [2.], [3.]]))
    assert q.ordered().flatten().tolist() == [1, 2, 3]
    q.enqueue(torch.tensor([[4.], [5.], [6.]]))  # 3 does not divide 5
    assert int(q.ptr) == 1
    assert q.queue.flatten().tolist() == [6, 2, 3, 4, 5]
    assert q.ordered().flatten().tolist() == [2, 3, 4, 5, 6]
    q.enqueue(torch.arange(7., 19.).view(-1, 1))  # more than the length
    assert q.ordered().flatten().tolist() == [14, 15, 16, 17, 18]
    assert 'queue' in q.state_dict() and 'ptr' in q.state_dict()


def test_queue_rejects_bad_shape():
    q = FeatureQueue(4, 3)
    with pytest.raises(ValueError, match=r'\(n, 3\)'):
        q.enqueue(torch.zeros(2, 4))
    with pytest.raises(ValueError, match='length'):
        FeatureQueue(0, 3)


def test_build_mlp_table7_structure():
    mlp = build_mlp(
        16,
        32,
        8,
        num_layers=3,
        norm_cfg=dict(type='GlobalBN1d'),
        act_cfg=dict(type='ReLU'),
        last_norm_cfg=dict(type='GlobalBN1d', affine=False))
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == [
        'Linear', 'GlobalBatchNorm1d', 'ReLU', 'Linear', 'GlobalBatchNorm1d',
        'ReLU', 'Linear', 'GlobalBatchNorm1d'
    ]
    assert mlp[-1].weight is None  # BN* without affine
    assert mlp[0].bias is None  # bias is redundant before BN
    assert mlp(torch.randn(4, 16)).shape == (4, 8)
    mlp2 = build_mlp(
        16,
        32,
        8,
        num_layers=2,
        norm_cfg=None,
        act_cfg=dict(type='GELU'),
        bias=False)
    assert [type(m).__name__ for m in mlp2] == ['Linear', 'GELU', 'Linear']
    assert mlp2[0].bias is None and mlp2[0].out_features == 32
    with pytest.raises(KeyError, match='act_cfg'):
        build_mlp(1, 1, 1, 2, act_cfg=dict(type='NoSuchActivation'))
    with pytest.raises(KeyError, match='last_norm_cfg'):
        build_mlp(1, 1, 1, 2, last_norm_cfg=dict(type='NoSuchNorm'))


def test_global_bn_is_an_mmengine_norm_type():
    """'GlobalBN1d' builds from mmengine's root registry, so from any
    scope (mmpretrain, mmdet, ...) and with no scope at all."""
    from mmcv.cnn import build_norm_layer
    from mmengine.registry import DefaultScope
    for scope in (None, 'mmpretrain', 'mmdet'):
        with DefaultScope.overwrite_default_scope(scope):
            _, bn = build_norm_layer(dict(type='GlobalBN1d', affine=False), 7)
        assert type(bn) is GlobalBatchNorm1d
        assert bn.num_features == 7 and not bn.affine and bn.eps == 1e-5


def test_global_bn_equals_bn_single_process():
    torch.manual_seed(0)
    g = GlobalBatchNorm1d(6)
    b = nn.BatchNorm1d(6)
    x = torch.randn(10, 6)
    assert torch.allclose(g(x), b(x), atol=1e-6)
    assert torch.allclose(g.running_var, b.running_var, atol=1e-6)


def test_gather_helpers_identity_without_process_group():
    x = torch.randn(3, 2, requires_grad=True)
    assert not is_multi_rank()
    assert all_gather_sizes(3) == [3]
    gathered = concat_all_gather_varsize(x)
    assert torch.equal(gathered, x.detach()) and not gathered.requires_grad
    mean = all_reduce_mean(x)
    assert torch.equal(mean, x.detach()) and mean is not x
    assert all_reduce_sum_with_grad(x) is x


def test_one_rank_process_group_is_not_multi_rank():
    """mmengine calls a one-rank process group distributed; the helpers
    stay the identity there (no collective runs)."""
    import socket

    import torch.distributed as dist
    from mmengine.dist import is_distributed
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1)
    try:
        assert is_distributed() and not is_multi_rank()
        x = torch.randn(3, 2, requires_grad=True)
        assert all_reduce_sum_with_grad(x) is x
        assert all_gather_sizes(3) == [3]
    finally:
        dist.destroy_process_group()


def _worker(rank, world, port, out):
    import torch.distributed as dist
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world)
    torch.manual_seed(0)
    full = torch.randn(8, 5)
    # uneven split: rank 0 has 3 rows, rank 1 has 5
    local = full[:3] if rank == 0 else full[3:]
    assert is_multi_rank() and all_gather_sizes(len(local)) == [3, 5]
    gathered = concat_all_gather_varsize(local)
    # global BN: statistics of the whole batch, gradient of the whole batch
    bn = GlobalBatchNorm1d(5)
    xl = local.clone().requires_grad_(True)
    y = bn(xl)
    (y * torch.arange(5.)).pow(2).sum().backward()
    q = FeatureQueue(6, 5, init='zeros')
    q.enqueue(local)
    out[rank] = (gathered, y.detach(), xl.grad, q.queue.clone(),
                 bn.running_mean.clone())
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_gloo_gather_bn_and_queue_are_global():
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    torch.manual_seed(0)
    full = torch.randn(8, 5)
    g0, y0, gr0, q0, rm0 = out[0]
    g1, y1, gr1, q1, rm1 = out[1]
    assert torch.equal(g0, full) and torch.equal(g1, full)
    ref_bn = nn.BatchNorm1d(5)
    xf = full.clone().requires_grad_(True)
    yf = ref_bn(xf)
    (yf * torch.arange(5.)).pow(2).sum().backward()
    assert torch.allclose(torch.cat([y0, y1]), yf, atol=1e-5)
    assert torch.allclose(torch.cat([gr0, gr1]), xf.grad, atol=1e-5)
    assert torch.allclose(rm0, ref_bn.running_mean, atol=1e-6)
    assert torch.equal(q0, q1)  # identical queues on both ranks
    # 8 gathered rows into 6 slots: rows 2..7 survive, row i at slot i % 6
    expected = torch.empty(6, 5)
    expected[[2, 3, 4, 5, 0, 1]] = full[2:8]
    assert torch.equal(q0, expected)
