"""The per-step fixed-cost optimisations change no result: each fast piece
(foreach EMA, vectorised per-parameter clipping, weight norm with the row
factor first, fused AdamW) against a plain reference implementation of the
same maths, and a tiny Mugs trained for a few steps with all the fast pieces
against the same model trained with all the references."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper

import mmmgc.engine.optimizers.per_param_clip as clip_mod
import mmmgc.models.utils.ema as ema_mod
from mmmgc.engine import clip_grad_norm_per_param_
from mmmgc.models.heads.mugs_group_head import MugsWeightNormLinear
from mmmgc.models.necks import mugs_topk_neighbours
from mmmgc.models.utils import ema_update_


@torch.no_grad()
def reference_ema_update_(teacher, student, decay):
    """The plain loop: ``t = decay * t + (1 - decay) * s``; buffers
    copied."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    for t, s in zip(teacher.buffers(), student.buffers()):
        t.copy_(s)


@torch.no_grad()
def reference_topk_neighbours(query, bank, k):
    """Normalise the query and a copy of the whole bank, then top-k."""
    sim = F.normalize(query, dim=1) @ F.normalize(bank, dim=1).t()
    return bank[sim.topk(k, dim=1).indices]


def test_neighbour_search_scales_by_row_norms_with_the_same_result():
    g = torch.Generator().manual_seed(3)
    bank = torch.randn(
        4096, 64, generator=g) * torch.rand(
            4096, 1, generator=g) * 5
    bank[100:110] = 0  # never-written rows of a zero-initialised buffer
    query = torch.randn(16, 64, generator=g)
    fast = mugs_topk_neighbours(query, bank, k=8)
    assert torch.equal(fast, reference_topk_neighbours(query, bank, 8))


@torch.no_grad()
def reference_clip_(params, max_norm):
    """One parameter at a time: scale the gradient to norm ``max_norm``
    when its own norm exceeds it."""
    n = 0
    for p in params:
        if p.grad is None:
            continue
        coef = max_norm / (p.grad.norm() + 1e-6)
        if coef < 1:
            p.grad.mul_(coef)
            n += 1
    return n


def reference_weight(self):
    """Weight norm as first written: ``g * v / ||v||``."""
    return self.weight_g * self.weight_v / self.weight_v.norm(
        dim=1, keepdim=True)


def _net():
    return nn.Sequential(
        nn.Linear(5, 7), nn.BatchNorm1d(7), nn.GELU(),
        nn.Linear(7, 3, bias=False))


def test_ema_update_matches_the_plain_loop():
    torch.manual_seed(0)
    student = _net()
    student(torch.randn(6, 5))  # moves the BN running statistics
    teacher = _net()
    ref = copy.deepcopy(teacher)
    for decay in (0.996, 0.5, 0.0, 1.0):
        ema_update_(teacher, student, decay)
        reference_ema_update_(ref, student, decay)
        for a, b in zip(teacher.state_dict().values(),
                        ref.state_dict().values()):
            assert torch.equal(a, b)  # the same operations: bit for bit
        with torch.no_grad():  # new student values for the next decay
            for p in student.parameters():
                p.add_(torch.randn_like(p))
    # decay 0 made the teacher a copy of the student, BN statistics too
    ema_update_(teacher, student, 0.0)
    for a, b in zip(teacher.state_dict().values(),
                    student.state_dict().values()):
        assert torch.equal(a, b)


def test_ema_update_rejects_a_different_structure():
    with pytest.raises(ValueError, match='structure'):
        ema_update_(_net(), nn.Linear(5, 7), 0.9)
    with pytest.raises(ValueError, match='decay'):
        ema_update_(_net(), _net(), 1.5)


def test_clip_matches_the_per_parameter_reference():
    torch.manual_seed(0)
    params = [
        nn.Parameter(torch.randn(s))
        for s in [(4, 3), (5, ), (2, 2), (6, ), (3, 3)]
    ]
    grads = [
        torch.randn(p.shape) * s
        for p, s in zip(params, [5., 0.1, 3., 10., 0.5])
    ]
    params[3].requires_grad_(False)  # no gradient: skipped (grad None)
    ref = [nn.Parameter(p.detach().clone()) for p in params]
    for p, r, g in zip(params, ref, grads):
        if p.requires_grad:
            p.grad, r.grad = g.clone(), g.clone()
    n = clip_grad_norm_per_param_(params, 3.0)
    assert n == reference_clip_(ref, 3.0) == 2  # the 5x and 3x ones
    for p, r in zip(params, ref):
        if p.grad is None:
            assert r.grad is None
            continue
        # clipped: the same factor; unclipped: untouched, bit for bit
        assert torch.allclose(p.grad, r.grad, atol=1e-6, rtol=1e-6)
        assert p.grad.norm() <= 3.0 + 1e-5
    assert torch.equal(params[1].grad, grads[1])
    assert torch.equal(params[4].grad, grads[4])
    assert clip_grad_norm_per_param_([params[3]], 3.0) == 0


def test_weight_norm_matches_g_v_over_norm():
    torch.manual_seed(0)
    layer = MugsWeightNormLinear(16, 40, norm_last_layer=False)
    with torch.no_grad():
        layer.weight_g.mul_(torch.rand(40, 1) + 0.5)
    v = layer.weight_v.detach().clone().requires_grad_(True)
    g = layer.weight_g.detach().clone().requires_grad_(True)
    x = torch.randn(8, 16)
    y = layer(x)
    y_ref = x @ (g * v / v.norm(dim=1, keepdim=True)).t()
    assert torch.allclose(y, y_ref, atol=1e-6, rtol=1e-6)
    w = torch.randn_like(y)
    (y * w).sum().backward()
    (y_ref * w).sum().backward()
    assert torch.allclose(layer.weight_v.grad, v.grad, atol=1e-6, rtol=1e-5)
    assert torch.allclose(layer.weight_g.grad, g.grad, atol=1e-6, rtol=1e-5)


def _train(model, ow, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        crops = [
            torch.randn(4, 3, s, s, generator=gen)
            for s in (32, 32, 32, 32, 16, 16)
        ]
        with ow.optim_context(model):
            loss, _ = model.parse_losses(model.loss(crops))
        ow.update_params(loss)
        losses.append(loss.item())
    return losses


def test_tiny_mugs_trains_the_same_with_the_fast_pieces(monkeypatch):
    """3 steps of a tiny Mugs: foreach EMA + vectorised clipping + weight
    norm with the row factor first + fused AdamW, against the plain loops,
    ``g * v / ||v||`` and the for-loop AdamW: losses and every parameter
    and buffer agree to 1e-6.

    Except the key third of the attention's ``qkv`` biases: adding a
    constant to every key shifts all logits of a query alike, which the
    softmax ignores, so their true gradient is zero and the computed one is
    float rounding noise (~1e-10). AdamW divides it by its own running
    magnitude, so any change of rounding moves them by up to lr per step
    (here ~3e-5, lr 1e-3): they are checked against that bound instead."""
    from mmpretrain.registry import MODELS

    from tests._utils.mugs_fixtures import silence_init_logs, tiny_mugs_cfg
    silence_init_logs()
    cfg = tiny_mugs_cfg()
    cfg['backbone']['drop_path_rate'] = 0.0

    def run(fast: bool):
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.init_weights()
        model.train()
        ow = build_optim_wrapper(
            model,
            dict(
                type='PerParamClipOptimWrapper',
                max_norm=0.05,
                optimizer=dict(
                    type='AdamW',
                    lr=1e-3,
                    weight_decay=0.04,
                    **(dict(fused=True) if fast else dict(foreach=False)))))
        counts = []
        clip = clip_mod.clip_grad_norm_per_param_ if fast \
            else reference_clip_
        monkeypatch.setattr(
            clip_mod, 'clip_grad_norm_per_param_',
            lambda p, m: counts.append(clip(p, m)) or counts[-1])
        ema = ema_update_ if fast else reference_ema_update_
        monkeypatch.setattr(ema_mod, 'ema_update_', ema)
        if not fast:
            monkeypatch.setattr(MugsWeightNormLinear, 'weight',
                                reference_weight)
        losses = _train(model, ow, 3, seed=1)
        monkeypatch.undo()
        return losses, model.state_dict(), counts

    fast_losses, fast_state, fast_counts = run(True)
    ref_losses, ref_state, ref_counts = run(False)
    assert fast_counts == ref_counts
    n_params = sum(1 for _ in fast_state)
    assert all(0 < c < n_params for c in ref_counts)  # clipping matters
    assert fast_losses == pytest.approx(ref_losses, abs=1e-6, rel=0)
    assert fast_state.keys() == ref_state.keys()
    for key in ref_state:
        a, b = fast_state[key], ref_state[key]
        if key.endswith('attn.qkv.bias'):
            c = a.numel() // 3
            key_part = slice(c, 2 * c)
            assert torch.allclose(a[key_part], b[key_part], atol=3e-3)
            a, b = torch.cat([a[:c], a[2 * c:]]), torch.cat([b[:c], b[2 * c:]])
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-6, rtol=0), key
        else:
            assert torch.equal(a, b), key
    # the teacher did move away from its initial copy of the student
    assert not torch.equal(fast_state['teacher.module.backbone.cls_token'],
                           fast_state['backbone.cls_token'])
