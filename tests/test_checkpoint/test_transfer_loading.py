"""Loading into downstream models never fails silently: the strict backbone,
check_transfer, the pyramid neck and the layer-decay constructor inside
mmdet / mmseg models."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmmgc.checkpoint import BackboneCheckpointError, backbone_checkpoint
from mmmgc.models.backbones import StrictPretrainedViT
from mmmgc.models.necks import ViTPyramidNeck
from tests._utils import REPO_ROOT
from tests._utils.downstream_cfg import tiny_vit_state_dict
from tests._utils.tiny_vit import tiny_vit_arch

MASK_RCNN = ('configs/mgc/benchmarks/mmdetection/'
             'mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py')
FPN_ADE = ('configs/mgc/benchmarks/mmsegmentation/'
           'fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py')
UPERNET = ('configs/mugs/benchmarks/mmsegmentation/'
           'upernet_vit-small-p16_8xb2-160k_ade20k-512x512.py')
CASCADE = ('configs/mugs/benchmarks/mmdetection/'
           'cascade-mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py')


def _tool(rel_path: str):
    path = osp.join(REPO_ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


check_tool = _tool('tools/misc/check_transfer.py')


def _vit(ckpt=None, prefix='backbone.', **kwargs):
    init_cfg = None if ckpt is None else dict(
        type='Pretrained', checkpoint=ckpt, prefix=prefix)
    return StrictPretrainedViT(
        arch=tiny_vit_arch(64, 4),
        img_size=64,
        patch_size=16,
        out_indices=kwargs.pop('out_indices', (0, 1, 2, 3)),
        out_type='featmap',
        init_cfg=init_cfg,
        **kwargs)


def _save(path, sd, prefix='backbone.'):
    """Raw file (no validation), so that defective files can be made."""
    torch.save({'state_dict': {prefix + k: v for k, v in sd.items()}}, path)
    return str(path)


def test_strict_vit_loads_every_tensor(tiny_backbone_ckpt):
    vit = _vit(tiny_backbone_ckpt)
    vit.init_weights()
    ref = tiny_vit_state_dict()
    own = vit.state_dict()
    assert set(own) == set(ref)
    for k, v in ref.items():
        assert torch.equal(own[k], v), k
    assert vit.pretrained_report.ok
    assert len(vit.pretrained_report.loaded) == len(ref)


@pytest.mark.parametrize('defect', ['missing', 'unused', 'shape', 'prefix'])
def test_strict_vit_raises_naming_keys(tmp_path, defect):
    sd = tiny_vit_state_dict()
    prefix = 'backbone.'
    if defect == 'missing':
        del sd['layers.3.ffn.layers.1.bias']
        sd.pop('ln1.bias')
        expect = r'missing 2 .*layers\.3\.ffn\.layers\.1\.bias'
        path = _save(tmp_path / 'c.pth', sd)
    else:
        if defect == 'unused':
            sd['layers.4.ln1.weight'] = torch.ones(64)
            expect = r'unused: backbone\.layers\.4\.ln1\.weight'
        elif defect == 'shape':
            sd['layers.0.attn.proj.weight'] = torch.ones(64, 32)
            expect = r'layers\.0\.attn\.proj\.weight: \(64, 32\)'
        else:
            prefix = 'encoder.'
            expect = 'no checkpoint key matches'
        path = _save(tmp_path / 'c.pth', sd, prefix)
    vit = _vit(path)
    before = {k: v.clone() for k, v in vit.state_dict().items()}
    with pytest.raises(BackboneCheckpointError, match=expect):
        vit.init_weights()
    if defect != 'missing':
        # nothing was half-loaded
        assert all(
            torch.equal(vit.state_dict()[k], before[k])
            for k in ('patch_embed.projection.weight', ))


def test_strict_vit_allowed_missing_and_pos_embed_resize(tmp_path):
    sd = tiny_vit_state_dict(img_size=32)  # 2x2 grid -> resized to 4x4
    path = str(tmp_path / 'c.pth')
    torch.save(backbone_checkpoint(sd, dict(source_file='t')), path)
    vit = StrictPretrainedViT(
        arch=tiny_vit_arch(64, 4),
        img_size=64,
        patch_size=16,
        out_type='avg_featmap',
        allowed_missing_keys=['ln2.*'],
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    vit.init_weights()
    rep = vit.pretrained_report
    assert sorted(rep.allowed_missing) == ['ln2.bias', 'ln2.weight']
    assert rep.resized == ['pos_embed (1, 5, 64) -> (1, 17, 64)']
    assert vit.pos_embed.shape == (1, 17, 64)
    with pytest.raises(ValueError, match="unknown key.*'revise_keys'"):
        _vit(path).__class__(
            arch=tiny_vit_arch(64, 4),
            img_size=64,
            patch_size=16,
            init_cfg=dict(type='Pretrained', checkpoint=path,
                          revise_keys=[])).init_weights()


def test_norm_all_taps_and_repeated_taps():
    vit = _vit(out_indices=(0, 0, 1, 3), norm_all_taps=True)
    vit.init_weights()
    with torch.no_grad():
        vit.ln1.weight.fill_(2.0)
        vit.ln1.bias.fill_(0.5)
    vit.eval()
    x = torch.randn(2, 3, 64, 64)
    outs = vit(x)
    assert len(outs) == 4 and torch.equal(outs[0], outs[1])
    # every tap is LayerNorm-ed by ln1: per-token channel mean = bias 0.5,
    # std = weight 2.0
    for o in outs:
        tok = o.permute(0, 2, 3, 1)
        assert torch.allclose(
            tok.mean(-1), torch.full_like(tok.mean(-1), 0.5), atol=1e-4)
        assert torch.allclose(
            tok.std(-1, unbiased=False),
            torch.full_like(tok.mean(-1), 2.0),
            atol=1e-3)
    plain = _vit(out_indices=(0, 3))
    plain.load_state_dict(vit.state_dict())
    plain.eval()
    p0, p3 = plain(x)
    assert not torch.allclose(p0, outs[0])  # no norm on early taps
    torch.testing.assert_close(p3, outs[3])  # last tap: ln1 in both
    with pytest.raises(ValueError, match='final_norm=True'):
        _vit(norm_all_taps=True, final_norm=False)


def test_pyramid_neck_strides_and_ops():
    neck = ViTPyramidNeck(in_channels=8, tap_norm_cfg=dict(type='LN'))
    neck.eval()
    x = [torch.randn(2, 8, 4, 6) for _ in range(4)]
    outs = neck(x)
    sizes = [tuple(o.shape[-2:]) for o in outs]
    assert sizes == [(16, 24), (8, 12), (4, 6), (2, 3)]
    assert all(o.shape[1] == 8 for o in outs)
    names = [type(m).__name__ for m in neck.branches[0]]
    assert names == [
        'ConvTranspose2d', 'BatchNorm2d', 'GELU', 'ConvTranspose2d'
    ]
    bare = ViTPyramidNeck(in_channels=8)
    assert torch.equal(bare(x)[2], x[2])  # identity at stride 16
    assert torch.equal(bare(x)[3], torch.nn.functional.max_pool2d(x[3], 2))
    with pytest.raises(ValueError, match='4 taps but has 2'):
        ViTPyramidNeck(in_channels=8, scale_factors=(2, 1))(x)
    with pytest.raises(ValueError, match='got 3'):
        ViTPyramidNeck(in_channels=8, scale_factors=(3, ))


def _tiny(config, ckpt):
    from tests._utils.downstream_cfg import load_tiny
    return load_tiny(config, '/nonexistent', ckpt, '/tmp/unused')


@pytest.mark.parametrize('config', [MASK_RCNN, FPN_ADE])
def test_check_transfer_ok_and_mismatch(config, tmp_path, tiny_backbone_ckpt):
    opts = _tiny_options(config)
    code, msg = check_tool.check(config, tiny_backbone_ckpt, opts)
    assert code == 0, msg
    assert 'OK' in msg and '54 tensors loaded' in msg
    sd = tiny_vit_state_dict()
    sd.pop('layers.2.attn.qkv.weight')
    sd['head.fc.weight'] = torch.zeros(3, 64)
    bad = _save(tmp_path / 'bad.pth', sd)
    code, msg = check_tool.check(config, bad, opts)
    assert code == 1
    assert 'layers.2.attn.qkv.weight' in msg and 'backbone.head.fc.weight' \
        in msg


def test_check_transfer_refuses_non_strict_backbone(tmp_path,
                                                    tiny_backbone_ckpt):
    """mmpretrain's own VisionTransformer only LOGS a mismatch: refused."""
    cfg = tmp_path / 'plain_vit.py'
    cfg.write_text(
        f"_base_ = [{osp.join(REPO_ROOT, MASK_RCNN)!r}]\n"
        "model = dict(backbone=dict(_delete_=True,\n"
        "    type='mmpretrain.VisionTransformer',\n"
        f"    arch={tiny_vit_arch(64, 4)!r}, img_size=64, patch_size=16,\n"
        "    out_indices=[0, 1, 2, 3], out_type='featmap',\n"
        "    init_cfg=dict(type='Pretrained', checkpoint='x',\n"
        "                  prefix='backbone.')))\n")
    opts = _tiny_options(MASK_RCNN)
    code, msg = check_tool.check(
        str(cfg), tiny_backbone_ckpt, {'model.neck': opts['model.neck']})
    assert code == 2 and 'NON-strictly' in msg


def _tiny_options(config):
    """--cfg-options that shrink the backbone and neck of a config."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    opts = {
        'model.backbone.arch': tiny_vit_arch(64, 4),
        'model.backbone.img_size': 64,
        'model.backbone.out_indices': [0, 1, 2, 3],
    }
    neck = cfg.model.neck
    if isinstance(neck, list):
        neck[0].in_channels = 64
        neck[1].in_channels = [64] * 4
        opts['model.neck'] = neck
    else:
        opts['model.neck.in_channels'] = 64
    return opts


@pytest.mark.parametrize('config,rate', [(CASCADE, 0.8), (UPERNET, 0.9)])
def test_layer_decay_inside_detector_and_segmentor(config, rate,
                                                   tiny_backbone_ckpt):
    """The Mugs configs' constructor builds through mmdet's / mmseg's
    registries (default_scope) and scales the ViT's lrs by depth."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    cfg = _tiny(config, tiny_backbone_ckpt)
    model = check_tool.build_model(cfg)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    by_name = {g['param_name']: g for g in wrapper.optimizer.param_groups}
    n = 4 + 2  # layers + stem + top
    assert by_name['backbone.patch_embed.projection.weight']['lr'] == \
        pytest.approx(base * rate**(n - 1))
    assert by_name['backbone.layers.3.attn.qkv.weight']['lr'] == \
        pytest.approx(base * rate**(n - 5))
    assert by_name['backbone.ln1.weight']['lr'] == pytest.approx(base)
    assert by_name['backbone.ln1.weight']['weight_decay'] == 0.
    assert by_name['backbone.pos_embed']['weight_decay'] == 0.
    head = [k for k in by_name if not k.startswith('backbone.')]
    assert head and all(by_name[k]['lr'] == pytest.approx(base) for k in head)
    assert by_name['backbone.layers.0.attn.qkv.weight'][
        'weight_decay'] == pytest.approx(0.05)
    # as the authors' layer-decay constructor: no decay on any 1-D tensor
    flat = [k for k, p in model.named_parameters() if p.ndim == 1]
    assert 'backbone.layers.0.attn.qkv.bias' in flat
    assert all(by_name[k]['weight_decay'] == 0. for k in flat)


def test_layer_decay_and_strict_backbone_in_mmpose(tiny_backbone_ckpt):
    """The same constructor and strict backbone work in mmpose's scope."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = dict(
        type='TopdownPoseEstimator',
        backbone=dict(
            type='mmpretrain.StrictPretrainedViT',
            arch=tiny_vit_arch(64, 4),
            img_size=(64, 48),
            patch_size=16,
            out_type='featmap',
            with_cls_token=False,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=tiny_backbone_ckpt,
                prefix='backbone.')),
        head=dict(
            type='HeatmapHead',
            in_channels=64,
            out_channels=17,
            deconv_out_channels=(32, ),
            deconv_kernel_sizes=(4, ),
            loss=dict(type='KeypointMSELoss', use_target_weight=True),
            decoder=dict(
                type='UDPHeatmap',
                input_size=(48, 64),
                heatmap_size=(12, 16),
                sigma=2)))
    with DefaultScope.overwrite_default_scope('mmpose'):
        model = MODELS.build(cfg)
        model.init_weights()  # 64 px checkpoint -> (64, 48): pos_embed
        wrapper = build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.1),
                constructor='mmpretrain.ViTLayerDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.75)))
    rep = model.backbone.pretrained_report
    assert rep.ok and rep.resized == ['pos_embed (1, 17, 64) -> (1, 12, 64)']
    # no CLS token in ViTPose: the checkpoint's is dropped, by name
    assert rep.allowed_unused == ['backbone.cls_token']
    assert 'deliberately unused: backbone.cls_token' in rep.summary()
    lrs = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    assert lrs['backbone.patch_embed.projection.weight'] == pytest.approx(
        5e-4 * 0.75**5)
    assert lrs['head.final_layer.weight'] == pytest.approx(5e-4)
