"""Mugs' training schedules and optimisation: the teacher-temperature
warm-up (function and hook), the last-layer freeze hook, per-parameter
gradient clipping (function and optim wrapper), the demo's parameter
groups and the weight-decay cosine schedule."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from mmmgc.engine import PerParamClipOptimWrapper, clip_grad_norm_per_param_
from mmmgc.engine.hooks import MugsFreezeLastLayerHook, MugsTeacherTempHook
from mmmgc.engine.hooks.mugs_teacher_temp_hook import mugs_teacher_temperature
from mmmgc.models.heads import MugsGroupHead


# ----------------------------------------------------------- temperature
def test_teacher_temperature_schedule():
    lin = np.linspace(0.04, 0.07, 30)
    for e in (0, 1, 15, 29):
        assert mugs_teacher_temperature(e, 30) == pytest.approx(lin[e])
    assert mugs_teacher_temperature(30, 30) == pytest.approx(0.07)
    assert mugs_teacher_temperature(500, 30) == pytest.approx(0.07)
    assert mugs_teacher_temperature(3, 0, 0.04, 0.04) == 0.04


class _Runner:

    def __init__(self, model, epoch, it):
        from mmengine.logging import MessageHub
        self.model, self.epoch, self.iter = model, epoch, it
        self.train_loop = None  # not iteration-based: runner.epoch counts
        self.message_hub = MessageHub.get_instance('mugs_test_hooks')


def test_hooks_set_temperature_and_freeze():
    model = nn.Module()
    model.group_head = MugsGroupHead(8, 16, 4, num_prototypes=3)
    hook = MugsTeacherTempHook(0.04, 0.07, warmup_epochs=4)
    freeze = MugsFreezeLastLayerHook(freeze_epochs=1)
    hook.before_train_iter(_Runner(model, 2, 100), 0)
    freeze.before_train_iter(_Runner(model, 0, 100), 0)
    assert model.group_head.teacher_temp == pytest.approx(0.06)
    assert model.group_head.last_layer_frozen
    freeze.before_train_iter(_Runner(model, 1, 101), 0)
    assert not model.group_head.last_layer_frozen
    by_iter = MugsTeacherTempHook(
        0.04, 0.07, warmup_epochs=None, warmup_iters=3)
    by_iter.before_train_iter(_Runner(model, 0, 1), 0)
    assert model.group_head.teacher_temp == pytest.approx(0.055)
    with pytest.raises(ValueError, match='exactly one'):
        MugsTeacherTempHook(warmup_epochs=3, warmup_iters=3)


# ------------------------------------------------------------ optimiser
def test_per_parameter_clipping_known_values():
    a = nn.Parameter(torch.zeros(2))
    b = nn.Parameter(torch.zeros(2))
    a.grad = torch.tensor([3., 4.])  # norm 5 -> clipped to 3
    b.grad = torch.tensor([0.6, 0.8])  # norm 1 -> untouched
    assert clip_grad_norm_per_param_([a, b], 3.0) == 1
    assert torch.allclose(a.grad, torch.tensor([1.8, 2.4]), atol=1e-5)
    assert torch.equal(b.grad, torch.tensor([0.6, 0.8]))


def test_per_param_clip_wrapper_clips_before_step():
    p = nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([p], lr=1.0)
    ow = PerParamClipOptimWrapper(opt, max_norm=1.0)
    (p * torch.tensor([30., 40.])).sum().backward()
    ow.step()
    assert torch.allclose(p.data, torch.tensor([-0.6, -0.8]), atol=1e-5)
    with pytest.raises(ValueError, match='max_norm'):
        PerParamClipOptimWrapper(opt, max_norm=0.)


def test_demo_param_groups_patch_embed_lr_and_no_decay(repo_root):
    """The demo's paramwise_cfg on a real (tiny) Mugs model: patch
    embedding lr x 0.2, no decay on biases and norms (incl. the patch
    embedding's bias), decay elsewhere."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from tests._utils.mugs_fixtures import build_tiny_mugs, silence_init_logs

    silence_init_logs()
    cfg = Config.fromfile(osp.join(repo_root, 'configs/mugs/mugs_demo.py'))
    model = build_tiny_mugs()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ow = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(ow, PerParamClipOptimWrapper) and ow.max_norm == 3.0
    lr, wd = cfg.optim_wrapper.optimizer.lr, 0.04
    setting = {}
    for g in ow.optimizer.param_groups:
        for p in g['params']:
            setting[id(p)] = (g['lr'], g['weight_decay'])
    names = dict(model.named_parameters())
    pe = 'backbone.patch_embed.projection.'
    assert setting[id(names[pe + 'weight'])] == (pytest.approx(0.2 * lr), wd)
    assert setting[id(names[pe + 'bias'])] == (pytest.approx(0.2 * lr), 0.)
    assert setting[id(names['backbone.ln1.weight'])] == (lr, 0.)
    assert setting[id(names['neck.layers.0.attn.qkv.bias'])] == (lr, 0.)
    qkv = names['backbone.layers.0.attn.qkv.weight']
    assert setting[id(qkv)] == (lr, wd)
    assert setting[id(names['group_head.last_layer.weight_v'])] == (lr, wd)
    assert setting[id(names['group_head.last_layer.weight_g'])][1] == wd


def test_weight_decay_cosine_schedule_leaves_zero_groups_at_zero():
    from mmengine.optim.scheduler import CosineAnnealingParamScheduler

    decayed = nn.Parameter(torch.zeros(2, 2))
    flat = nn.Parameter(torch.zeros(2))
    opt = torch.optim.AdamW([
        dict(params=[decayed], weight_decay=0.04),
        dict(params=[flat], weight_decay=0.0)
    ],
                            lr=0.1)
    sched = CosineAnnealingParamScheduler(
        opt,
        param_name='weight_decay',
        eta_min_ratio=2.5,
        begin=0,
        end=10,
        by_epoch=False)
    values = []
    for _ in range(11):
        values.append([g['weight_decay'] for g in opt.param_groups])
        opt.step()
        sched.step()
    ref = [
        0.1 + (0.04 - 0.1) * (1 + np.cos(np.pi * i / 10)) / 2
        for i in range(11)
    ]
    # as DINO's per-iteration cosine: iteration i of N gets ref[i], i < N
    assert np.allclose([v[0] for v in values[:10]], ref[:10], atol=1e-9)
    assert values[10][0] == values[9][0]  # held after the end
    assert all(v[1] == 0 for v in values)
