"""The MGC algorithm: building, gradients, the EMA teacher, training."""
import copy

import numpy as np
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS

from mmmgc.models.necks import MGCProjectionNeck
from mmmgc.models.utils import GlobalBatchNorm1d
from tests._utils.mgc_fixtures import make_batch, tiny_mgc
from tests._utils.mgc_reference import brute_force_targets


def test_heads_follow_table7_and_teacher_starts_equal():
    model = tiny_mgc()
    proj = model.neck.projectors[0]
    kinds = [type(m).__name__ for m in proj]
    assert kinds == [
        'Linear', 'GlobalBatchNorm1d', 'ReLU', 'Linear', 'GlobalBatchNorm1d',
        'ReLU', 'Linear', 'GlobalBatchNorm1d'
    ]
    assert proj[-1].affine is False and proj[1].affine is True
    pred = model.head.predictors[0]
    assert [type(m).__name__ for m in pred] == [
        'Linear', 'GlobalBatchNorm1d', 'ReLU', 'Linear', 'GlobalBatchNorm1d'
    ]
    assert isinstance(pred[-1], GlobalBatchNorm1d) and not pred[-1].affine
    student = list(model.backbone.parameters()) + list(model.neck.parameters())
    teacher = list(model.teacher.module.parameters())
    assert len(student) == len(teacher)
    for s, t in zip(student, teacher):
        assert torch.equal(s, t) and not t.requires_grad
    # defaults stated in the docstrings
    neck = MGCProjectionNeck(in_channels=8)
    assert neck.num_branches == 3 and neck.shared
    assert proj[0].out_features == 48 and proj[-2].out_features == 16


def test_compute_pairs_matches_brute_force_both_directions():
    model = tiny_mgc()
    batch = make_batch(b=5, seed=3)
    boxes, flips = model.view_geometry(batch['data_samples'], 'cpu')
    for index, c in enumerate(model.granularities):
        pairs = model.compute_pairs(
            boxes, flips, 8, index, seeds=torch.arange(5))
        assert [(p.q_view, p.k_view) for p in pairs] == [(0, 1), (1, 0)]
        for qv, kv, qb, qi, kb, kj, t in pairs:
            ref = brute_force_targets(boxes[:, qv].numpy(),
                                      flips[:, qv].numpy(), boxes[:,
                                                                  kv].numpy(),
                                      flips[:, kv].numpy(), 8, c)
            assert len(qb) > 0
            for n in range(len(qb)):
                b, i = int(qb[n]), int(qi[n])
                assert ref[b, i].sum() > 0  # queries overlap the key view
                keys = kj[kb == b].tolist()
                assert set(np.nonzero(ref[b, i])[0]) <= set(keys)
                want = np.array([
                    ref[b, i, j] if kb[m] == b else 0.0
                    for m, j in enumerate(kj.tolist())
                ])
                np.testing.assert_allclose(t[n].numpy(), want, atol=1e-6)
            counts = torch.bincount(qb, minlength=5)
            assert counts.max() <= model.num_samples[index]


def test_gradients_reach_only_the_online_branch():
    torch.manual_seed(0)
    model = tiny_mgc()
    data = model.data_preprocessor(make_batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_c1', 'loss_c2', 'loss_c4'}
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        if name.startswith('teacher.'):
            assert p.grad is None, name
        elif p.requires_grad and 'cls_token' not in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_teacher_moves_by_the_stated_convention():
    torch.manual_seed(0)
    model = tiny_mgc(ema_decay=0.9)
    ow = build_optim_wrapper(model,
                             dict(optimizer=dict(type='AdamW', lr=1e-2)))
    batch = make_batch()
    model.train_step(batch, ow)  # teacher == student before the step
    t_before = [p.clone() for p in model.teacher.module.parameters()]
    s_now = [
        p.clone() for p in list(model.backbone.parameters()) +
        list(model.neck.parameters())
    ]
    assert any(not torch.equal(a, b) for a, b in zip(t_before, s_now))
    # the next train step updates the teacher from the current student
    # (no MessageHub schedule outside a Runner: decay = ema_decay)
    model.train_step(batch, ow)
    decay = model.teacher.last_decay
    assert decay == pytest.approx(0.9)
    for t_old, s, t_new in zip(t_before, s_now,
                               model.teacher.module.parameters()):
        torch.testing.assert_close(t_new, decay * t_old + (1 - decay) * s)
    moved = sum((a - b).abs().sum()
                for a, b in zip(t_before, model.teacher.module.parameters()))
    assert moved > 0


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(shared=False),
    dict(key_cells='all'),
    dict(loss_mode='hard', shared=False),
    dict(
        img=56,
        patch=4,
        granularities=(1, 2, 7, 14),
        num_samples=(10, 10, 2, 1)),
])
def test_options_train_and_lower_the_loss(kwargs):
    torch.manual_seed(0)
    img = kwargs.get('img', 32)
    model = tiny_mgc(**kwargs)
    if kwargs.get('shared') is False:
        assert len(model.neck.projectors) == len(model.granularities)
        assert len(model.head.predictors) == len(model.granularities)
    ow = build_optim_wrapper(model,
                             dict(optimizer=dict(type='AdamW', lr=3e-3)))
    batch = make_batch(img=img)
    model.sampling_generator = torch.Generator().manual_seed(0)
    first = None
    for _ in range(6):
        model.sampling_generator.manual_seed(0)  # same pairs every step
        log = model.train_step(copy.deepcopy(batch), ow)
        first = first if first is not None else log['loss'].item()
    assert torch.isfinite(log['loss'])
    assert log['loss'].item() < first
    assert all(f'loss_c{c}' in log for c in model.granularities)


def test_sampling_seeds_pin_the_loss():
    model = tiny_mgc()
    model.eval()  # BN running stats; the loss itself still runs
    batch = make_batch()
    for i, ds in enumerate(batch['data_samples']):
        ds.set_field(1000 + i, 'sampling_seed')
    data = model.data_preprocessor(batch, True)
    with torch.no_grad():
        a = model.loss(data['inputs'], data['data_samples'])
        b = model.loss(data['inputs'], data['data_samples'])
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_bf16_autocast_step_is_finite():
    torch.manual_seed(0)
    model = tiny_mgc()
    data = model.data_preprocessor(make_batch(), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(data['inputs'], data['data_samples'])
    for v in losses.values():
        assert v.dtype == torch.float32 and torch.isfinite(v)


def test_default_sample_counts_are_the_papers():

    def build(granularities, **kw):
        return MODELS.build(
            dict(
                type='MGC',
                granularities=granularities,
                backbone=dict(
                    type='MoCoV3ViT',
                    arch=dict(
                        embed_dims=32,
                        num_layers=1,
                        num_heads=2,
                        feedforward_channels=64),
                    img_size=56,
                    patch_size=4,
                    out_type='featmap'),
                neck=dict(
                    type='MGCProjectionNeck',
                    in_channels=32,
                    hid_channels=32,
                    out_channels=16),
                head=dict(
                    type='MGCHead',
                    in_channels=16,
                    hid_channels=32,
                    out_channels=16),
                **kw))

    model = build((1, 2, 7))
    assert model.num_samples == (10, 10, 2)
    assert model.key_cells == 'overlap' and model.symmetric
    assert model.head.temperature == 0.1
    assert model.teacher.ema_decay == 0.996
    assert build((1, 2, 7, 14)).num_samples == (10, 10, 2, 1)
    with pytest.raises(ValueError, match='model.num_samples'):
        build((1, 4))


def test_clear_errors():
    with pytest.raises(ValueError, match='model.num_samples'):
        tiny_mgc(num_samples=(1, 2))
    with pytest.raises(ValueError, match='model.neck.num_branches=3'):
        MODELS.build(
            dict(
                type='MGC',
                granularities=(1, 2),
                num_samples=(1, 1),
                backbone=dict(
                    type='MoCoV3ViT',
                    arch='deit-tiny',
                    img_size=32,
                    patch_size=4,
                    out_type='featmap'),
                neck=dict(
                    type='MGCProjectionNeck', in_channels=192, num_branches=3),
                head=dict(type='MGCHead')))
    model = tiny_mgc(granularities=(1, 3), num_samples=(2, 2))
    data = model.data_preprocessor(make_batch(), True)
    with pytest.raises(ValueError, match='does not divide'):
        model.loss(data['inputs'], data['data_samples'])
    model = tiny_mgc()
    batch = make_batch()
    for ds in batch['data_samples']:
        del ds.view_boxes
    data = model.data_preprocessor(batch, True)
    with pytest.raises(KeyError, match='MGCTwoViewCrop'):
        model.loss(data['inputs'], data['data_samples'])
