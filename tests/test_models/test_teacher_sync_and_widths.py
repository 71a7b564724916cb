"""Rules shared by MGC and Mugs, on tiny models: the EMA teacher is
deterministic (no drop path or dropout, BatchNorm as each method needs),
``init_weights`` copies the student into the teacher unless the loaded
checkpoint holds the teacher, mismatched widths fail at build time, and the
optional DINO-style ViT initialisation."""
import copy

import pytest
import torch
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from tests._utils.mugs_fixtures import silence_init_logs, tiny_mugs_cfg


def tiny_mgc_cfg(drop_path_rate: float = 0.0) -> dict:
    return dict(
        type='MGC',
        granularities=(1, 2, 4),
        num_samples=(4, 3, 2),
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor', mean=[0.] * 3, std=[1.] * 3),
        backbone=dict(
            type='MoCoV3ViT',
            arch=dict(
                embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64),
            img_size=32,
            patch_size=4,
            drop_path_rate=drop_path_rate,
            out_type='featmap'),
        neck=dict(
            type='MGCProjectionNeck',
            in_channels=32,
            hid_channels=48,
            out_channels=16),
        head=dict(
            type='MGCHead',
            in_channels=16,
            hid_channels=48,
            out_channels=16,
            temperature=0.2,
            loss=dict(type='MGCSoftTargetLoss', mode='soft')))


def _build(cfg: dict, init_cfg=None):
    silence_init_logs()
    cfg = copy.deepcopy(cfg)
    if init_cfg is not None:
        cfg['init_cfg'] = init_cfg
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _teacher(model):
    return model.teacher


def _student(model):
    return model._teacher_source()


def _prefix(model) -> str:
    return 'teacher.module.'


# -------------------------------------------------------- deterministic
@pytest.mark.parametrize('method', ['mgc', 'mugs', 'mugs_bn'])
def test_teacher_is_deterministic_in_train_mode(method):
    if method == 'mgc':
        model = _build(tiny_mgc_cfg(drop_path_rate=0.5))
    else:
        cfg = tiny_mugs_cfg(
            head_norm='BN' if method == 'mugs_bn' else None,
            teacher_batch_stats=method == 'mugs_bn')
        cfg['backbone']['drop_path_rate'] = 0.5
        model = _build(cfg)
    model.train()
    x = torch.randn(4, 3, 32, 32)
    teacher = _teacher(model).module
    t_backbone = teacher[0] if method == 'mgc' else teacher.backbone
    s_backbone = model.backbone
    with torch.no_grad():
        torch.manual_seed(0)
        a = t_backbone(x)[-1]
        torch.manual_seed(1)
        b = t_backbone(x)[-1]
        torch.manual_seed(0)
        s1 = s_backbone(x)[-1]
        torch.manual_seed(1)
        s2 = s_backbone(x)[-1]
    assert torch.equal(a, b)
    assert not torch.equal(s1, s2)  # the student does drop paths
    # BatchNorm: MGC's momentum projector and Mugs' teacher_batch_stats
    # normalise with the batch; everything else of the teacher is in eval
    bns = [m for m in teacher.modules() if isinstance(m, _BatchNorm)]
    if method != 'mugs':
        assert bns and all(m.training for m in bns)
    assert all(not m.training for m in teacher.modules()
               if not isinstance(m, _BatchNorm))
    model.eval()
    assert all(not m.training for m in teacher.modules())


# ------------------------------------------------------------ init sync
def _save(model, path, keep_teacher: bool, shift_teacher: float = 1.0):
    prefix = _prefix(model)
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith(prefix):
            if not keep_teacher:
                continue
            if v.is_floating_point():
                v = v + shift_teacher
        sd[k] = v.clone()
    torch.save(dict(state_dict=sd, meta=dict()), path)
    return sd


@pytest.mark.parametrize('method', ['mgc', 'mugs'])
def test_init_weights_keeps_a_loaded_teacher(tmp_path, method):
    cfg = tiny_mgc_cfg() if method == 'mgc' else tiny_mugs_cfg()
    source = _build(cfg)
    path = tmp_path / 'with_teacher.pth'
    sd = _save(source, path, keep_teacher=True)
    model = _build(cfg, dict(type='Pretrained', checkpoint=str(path)))
    prefix = _prefix(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k  # teacher = checkpoint's (shifted)
    t = next(iter(_teacher(model).module.parameters()))
    s = next(iter(_student(model).parameters()))
    assert not torch.equal(t, s)
    assert any(k.startswith(prefix) for k in sd)


@pytest.mark.parametrize('method', ['mgc', 'mugs'])
def test_init_weights_copies_the_student_without_teacher_keys(
        tmp_path, method):
    cfg = tiny_mgc_cfg() if method == 'mgc' else tiny_mugs_cfg()
    source = _build(cfg)
    path = tmp_path / 'student_only.pth'
    sd = _save(source, path, keep_teacher=False)
    model = _build(cfg, dict(type='Pretrained', checkpoint=str(path)))
    for t, s in zip(
            _teacher(model).module.state_dict().values(),
            _student(model).state_dict().values()):
        assert torch.equal(t, s)
    # and the student is the checkpoint's, not a fresh random init
    for k, v in model.state_dict().items():
        if k in sd:
            assert torch.equal(v, sd[k]), k


@pytest.mark.parametrize('method', ['mgc', 'mugs'])
def test_init_weights_refuses_a_partial_teacher(tmp_path, method):
    cfg = tiny_mgc_cfg() if method == 'mgc' else tiny_mugs_cfg()
    source = _build(cfg)
    sd = source.state_dict()
    prefix = _prefix(source)
    dropped = [k for k in sd if k.startswith(prefix)][0]
    del sd[dropped]
    path = tmp_path / 'partial.pth'
    torch.save(dict(state_dict=sd), path)
    with pytest.raises(KeyError, match='teacher weights'):
        _build(cfg, dict(type='Pretrained', checkpoint=str(path)))


# ------------------------------------------------------------- widths
def test_mgc_width_mismatch_fails_at_build():
    cfg = tiny_mgc_cfg()
    cfg['neck']['in_channels'] = 48
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg)
    msg = str(err.value)
    assert 'model.backbone.arch.embed_dims' in msg and '32' in msg
    assert 'model.neck.in_channels is 48' in msg
    cfg = tiny_mgc_cfg()
    cfg['head']['in_channels'] = 24
    with pytest.raises(ValueError, match='model.head.in_channels=24'):
        MODELS.build(cfg)


@pytest.mark.parametrize('key,field', [('neck', 'embed_dims'),
                                       ('instance_head', 'in_channels'),
                                       ('local_group_head', 'in_channels'),
                                       ('group_head', 'in_channels')])
def test_mugs_width_mismatch_fails_at_build(key, field):
    cfg = tiny_mugs_cfg()
    cfg['backbone']['arch'] = 'deit-tiny'  # 192 wide, a named arch
    for k, f in [('neck', 'embed_dims'), ('instance_head', 'in_channels'),
                 ('local_group_head', 'in_channels'),
                 ('group_head', 'in_channels')]:
        cfg[k][f] = 192
    cfg[key][field] = 32
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg)
    msg = str(err.value)
    assert "model.backbone.arch='deit-tiny' (embed_dims) gives width " \
        '192' in msg
    assert f'model.{key}.{field} is 32' in msg


# ---------------------------------------------------------- ViT init
@pytest.mark.parametrize('method', ['mgc', 'mugs'])
def test_trunc_normal_backbone_init(tmp_path, method):
    cfg = tiny_mgc_cfg() if method == 'mgc' else tiny_mugs_cfg()
    for k in ('arch', ):
        cfg['backbone'][k] = dict(
            embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256)
    for k, f in [('neck', 'in_channels'), ('neck', 'embed_dims'),
                 ('instance_head', 'in_channels'),
                 ('local_group_head', 'in_channels'),
                 ('group_head', 'in_channels')]:
        if k in cfg and f in cfg[k]:
            cfg[k][f] = 64
    if method == 'mugs':
        cfg['neck']['feedforward_channels'] = 128
    default = _build(cfg)
    torch.manual_seed(0)
    model = _build(dict(cfg, backbone_init='trunc_normal'))
    linears = [
        m for m in model.backbone.modules() if isinstance(m, torch.nn.Linear)
    ]
    assert len(linears) == 8  # qkv, proj, 2 ffn per layer
    for m in linears:
        assert 0.018 < m.weight.std().item() < 0.022
        assert m.weight.abs().max() < 0.02 * 6
        assert torch.count_nonzero(m.bias) == 0
    ffn = [
        m for m in default.backbone.modules()
        if isinstance(m, torch.nn.Linear)
    ][-1]
    assert ffn.weight.std().item() > 0.05  # mmpretrain's Xavier uniform
    if method == 'mgc':  # MoCo v3's fixed sin-cos position embedding kept
        assert not model.backbone.pos_embed.requires_grad
        assert torch.equal(model.backbone.pos_embed,
                           default.backbone.pos_embed)
    # the teacher starts as the (re-initialised) student
    for t, s in zip(
            _teacher(model).module.parameters(),
            _student(model).parameters()):
        assert torch.equal(t, s)
    # a checkpoint's weights are never re-initialised
    path = tmp_path / 'w.pth'
    torch.save(dict(state_dict=default.state_dict()), path)
    loaded = _build(
        dict(cfg, backbone_init='trunc_normal'),
        dict(type='Pretrained', checkpoint=str(path)))
    for k, v in loaded.backbone.state_dict().items():
        assert torch.equal(v, default.backbone.state_dict()[k]), k
    with pytest.raises(ValueError, match='backbone_init'):
        MODELS.build(dict(cfg, backbone_init='xavier'))
