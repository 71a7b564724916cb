"""Export and conversion: every path lands in
``mmpretrain.VisionTransformer`` keys and gives the SAME features as the
source network (to 1e-5); bad inputs stop with the keys named."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn

from mmmgc.checkpoint import (ViTKeyError, load_checkpoint_file,
                              mmpretrain_to_timm_vit, timm_to_mmpretrain_vit)
from mmmgc.models.utils.ema import EMATeacher
from tests._utils import REPO_ROOT
from tests._utils.tiny_vit import tiny_vit_arch

EMBED, DEPTH, HEADS, PATCH, IMG = 64, 2, 4, 8, 32


def _tool(rel_path: str):
    path = osp.join(REPO_ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


extract_tool = _tool('tools/model_converters/extract_backbone.py')
convert_tool = _tool('tools/model_converters/convert_official.py')


def _randomise(module: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    module.eval()
    return module


def timm_vit(seed: int = 0, init_values=None) -> nn.Module:
    import timm
    model = timm.create_model(
        'vit_small_patch16_224',
        pretrained=False,
        num_classes=7,  # a head, to be dropped
        embed_dim=EMBED,
        depth=DEPTH,
        num_heads=HEADS,
        patch_size=PATCH,
        img_size=IMG,
        init_values=init_values)
    return _randomise(model, seed)


def mm_vit(layer_scale: float = 0., **kwargs) -> nn.Module:
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(
        arch=tiny_vit_arch(EMBED, DEPTH, HEADS),
        img_size=IMG,
        patch_size=PATCH,
        out_type='raw',
        out_indices=list(range(DEPTH)),
        final_norm=True,
        layer_scale_init_value=layer_scale,
        **kwargs)
    vit.eval()  # mmpretrain backbones' train() returns None
    return vit


def _load_converted(path: str, **kwargs) -> nn.Module:
    ckpt = load_checkpoint_file(str(path))
    sd = ckpt['state_dict']
    assert all(k.startswith('backbone.') for k in sd)
    vit = mm_vit(**kwargs)
    vit.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in sd.items()
    },
                        strict=True)
    return vit, ckpt['meta']


def _assert_same_features(timm_model: nn.Module, vit: nn.Module) -> None:
    x = torch.randn(2, 3, IMG, IMG)
    with torch.no_grad():
        ref = timm_model.forward_features(x)  # (B, 1 + N, C), final norm
        blocks = []
        h = timm_model._pos_embed(timm_model.patch_embed(x))
        for blk in timm_model.blocks:
            h = blk(h)
            blocks.append(h)
        outs = vit(x)
    assert outs[-1].shape == ref.shape
    torch.testing.assert_close(outs[-1], ref, atol=1e-5, rtol=0)
    # intermediate taps (no final norm) agree too
    torch.testing.assert_close(outs[0], blocks[0], atol=1e-5, rtol=0)
    # and the features are not trivially small
    assert ref.abs().mean() > 0.1


def test_timm_numerical_equivalence(tmp_path):
    model = timm_vit()
    src = tmp_path / 'timm.pth'
    torch.save({'model': model.state_dict()}, src)
    out = convert_tool.convert(str(src), 'timm')
    torch.save(out, tmp_path / 'out.pth')
    vit, meta = _load_converted(str(tmp_path / 'out.pth'))
    _assert_same_features(model, vit)
    assert meta['source_format'] == 'timm'
    assert meta['dropped_groups'] == ['head']
    assert meta['vit']['num_layers'] == DEPTH
    assert meta['vit']['embed_dims'] == EMBED
    assert meta['vit']['patch_size'] == PATCH


def test_layer_scale_keys_numerical(tmp_path):
    """DeiT-III style LayerScale (timm ``ls1/ls2.gamma``)."""
    model = timm_vit(seed=3, init_values=0.5)
    converted, _ = timm_to_mmpretrain_vit(model.state_dict())
    vit = mm_vit(layer_scale=0.5)
    vit.load_state_dict(converted, strict=True)
    _assert_same_features(model, vit)


def test_mmpretrain_to_timm_roundtrip():
    sd = timm_vit().state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith('head.')}
    mm, _ = timm_to_mmpretrain_vit(sd)
    back = mmpretrain_to_timm_vit(mm)
    assert set(back) == set(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_mgc_official_both_branches(tmp_path):
    base, momentum = timm_vit(seed=1), timm_vit(seed=2)
    sd = {}
    for name, model in (('base_encoder', base), ('momentum_encoder',
                                                 momentum)):
        for k, v in model.state_dict().items():
            sd[f'module.{name}.{k}'] = v
    sd['module.projector_1.0.weight'] = torch.zeros(3, 3)
    sd['module.predictor_1.0.weight'] = torch.zeros(3, 3)
    src = tmp_path / 'mgc.pth'
    torch.save({'state_dict': sd, 'epoch': 800}, src)
    for branch, model in (('base', base), ('momentum', momentum)):
        out = convert_tool.convert(str(src), 'mgc', branch)
        torch.save(out, tmp_path / f'{branch}.pth')
        vit, meta = _load_converted(str(tmp_path / f'{branch}.pth'))
        _assert_same_features(model, vit)
        assert meta['source_branch'] == branch
        assert '8 attention heads' in meta['note']


def test_mugs_official_drops_aggregator(tmp_path):
    teacher, student = timm_vit(seed=4), timm_vit(seed=5)
    relation = {
        'relation_blocks.0.norm1.weight': torch.ones(EMBED),
        'relation_blocks.0.attn.qkv.weight': torch.ones(3 * EMBED, EMBED)
    }

    def branch(model):
        d = {f'backbone.{k}': v for k, v in model.state_dict().items()}
        d.update({f'backbone.{k}': v for k, v in relation.items()})
        d['instance_head.mlp.0.weight'] = torch.zeros(2, 2)
        d['group_head.last_layer.weight_g'] = torch.zeros(2, 1)
        return d

    src = tmp_path / 'mugs.pth'
    torch.save(
        {
            'teacher': branch(teacher),
            'student': {
                f'module.{k}': v
                for k, v in branch(student).items()
            }
        }, src)
    for name, model in (('teacher', teacher), ('student', student)):
        out = convert_tool.convert(str(src), 'mugs', name)
        torch.save(out, tmp_path / f'{name}.pth')
        vit, meta = _load_converted(str(tmp_path / f'{name}.pth'))
        _assert_same_features(model, vit)
        assert 'relation_blocks' in meta['dropped_groups']
    # an exported flat backbone with the aggregator still inside
    flat = dict(teacher.state_dict())
    flat.update(relation)
    torch.save(flat, tmp_path / 'flat.pth')
    out = convert_tool.convert(str(tmp_path / 'flat.pth'), 'mugs')
    assert not any('relation' in k for k in out['state_dict'])


def test_conversion_refuses_unknown_and_incomplete(tmp_path, capsys):
    sd = timm_vit().state_dict()
    with pytest.raises(ViTKeyError, match='dist_token'):
        timm_to_mmpretrain_vit({**sd, 'dist_token': torch.zeros(1, 1, 64)})
    broken = {k: v for k, v in sd.items() if 'blocks.1.mlp.fc2' not in k}
    with pytest.raises(ViTKeyError, match=r'layers\.1\.ffn\.layers\.1'):
        timm_to_mmpretrain_vit(broken)
    # CLI: non-zero exit with the key named
    torch.save(
        {'model': {
            **sd, 'blocks.0.attn.q_norm.weight': torch.ones(16)
        }}, tmp_path / 'bad.pth')
    code = convert_tool.main([
        str(tmp_path / 'bad.pth'),
        str(tmp_path / 'o.pth'), '--format', 'timm'
    ])
    assert code == 1
    assert 'blocks.0.attn.q_norm.weight' in capsys.readouterr().err
    assert not (tmp_path / 'o.pth').exists()


class _ToyAlgorithm(nn.Module):
    """The shape of an mmmgc algorithm's state dict: online ``backbone``,
    a neck, and an ``EMATeacher`` of (backbone, neck)."""

    def __init__(self):
        super().__init__()
        self.backbone = _randomise(mm_vit(), 7)
        self.neck = nn.Linear(EMBED, 8)
        self.teacher = EMATeacher(
            nn.ModuleDict(dict(backbone=self.backbone, neck=self.neck)))
        with torch.no_grad():  # teacher differs from the student
            for p in self.teacher.parameters():
                p.add_(1.0)


def _mmengine_ckpt(path, model, cfg_text="model = dict(type='MGC')\n"):
    torch.save(
        {
            'meta': {
                'cfg': cfg_text,
                'epoch': 3,
                'iter': 30
            },
            'state_dict': model.state_dict(),
            'message_hub': {}
        }, path)


def test_extract_backbone_online_and_momentum(tmp_path):
    algo = _ToyAlgorithm()
    src = tmp_path / 'epoch_3.pth'
    _mmengine_ckpt(src, algo)
    x = torch.randn(2, 3, IMG, IMG)
    for source, module in (('online', algo.backbone),
                           ('momentum', algo.teacher.module['backbone'])):
        out = extract_tool.extract(str(src), source)
        assert out['meta']['algorithm'] == 'MGC'
        assert out['meta']['source_branch'] == source
        expected_prefix = ('backbone.' if source == 'online' else
                           'teacher.module.backbone.')
        assert out['meta']['source_prefix'] == expected_prefix
        assert out['meta']['exported_num_keys'] == len(
            algo.backbone.state_dict())
        torch.save(out, tmp_path / f'{source}.pth')
        vit, _ = _load_converted(str(tmp_path / f'{source}.pth'))
        with torch.no_grad():
            module.eval()
            torch.testing.assert_close(
                vit(x)[-1], module(x)[-1], atol=1e-6, rtol=0)


def test_extract_backbone_fails_loudly(tmp_path):
    algo = _ToyAlgorithm()
    sd = algo.state_dict()
    # incomplete online backbone
    bad = {k: v for k, v in sd.items() if k != 'backbone.layers.1.ln2.bias'}
    torch.save({'meta': {}, 'state_dict': bad}, tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match=r'layers\.1\.ln2\.bias'):
        extract_tool.extract(str(tmp_path / 'bad.pth'))
    # no backbone at all -> CLI exit 1, keys named
    torch.save({
        'meta': {},
        'state_dict': {
            'neck.weight': torch.ones(1)
        }
    }, tmp_path / 'nobb.pth')
    assert extract_tool.main(
        [str(tmp_path / 'nobb.pth'),
         str(tmp_path / 'o.pth')]) == 1
    assert not (tmp_path / 'o.pth').exists()
    # two complete teacher copies: ambiguous unless the prefix is given
    two = dict(sd)
    two.update({
        k.replace('teacher.', 'teacher2.'): v
        for k, v in sd.items() if k.startswith('teacher.')
    })
    torch.save({'meta': {}, 'state_dict': two}, tmp_path / 'two.pth')
    with pytest.raises(KeyError, match='teacher2.module.backbone.'):
        extract_tool.extract(str(tmp_path / 'two.pth'), 'momentum')
    out = extract_tool.extract(
        str(tmp_path / 'two.pth'), 'momentum', 'teacher2.module.backbone.')
    assert out['meta']['source_prefix'] == 'teacher2.module.backbone.'
