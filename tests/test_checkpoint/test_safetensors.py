"""Backbones as ``.safetensors`` and the recorded head count: an export
in either format loads strictly into the downstream configs with the same
values; a file recorded with another head count is refused, naming both
counts and the override, and loads once the override is given."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmmgc.checkpoint import (HeadCountError, load_checkpoint_file,
                              num_heads_from_cfg_text, read_safetensors_meta)
from mmmgc.models.backbones import StrictPretrainedViT
from tests._utils import REPO_ROOT
from tests._utils.downstream_cfg import tiny_vit_state_dict
from tests._utils.tiny_vit import tiny_vit_arch

MASK_RCNN = ('configs/mgc/benchmarks/mmdetection/'
             'mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py')
FPN_ADE = ('configs/mgc/benchmarks/mmsegmentation/'
           'fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py')
UPERNET = ('configs/mugs/benchmarks/mmsegmentation/'
           'upernet_vit-small-p16_8xb2-160k_ade20k-512x512.py')
HEADS = 4


def _tool(rel_path: str):
    path = osp.join(REPO_ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


check_tool = _tool('tools/misc/check_transfer.py')
extract_tool = _tool('tools/model_converters/extract_backbone.py')
convert_tool = _tool('tools/model_converters/convert_official.py')

CFG_TEXT = ("model = dict(\n    type='MGC',\n    backbone=dict(\n"
            "        type='VisionTransformer',\n"
            f"        arch={tiny_vit_arch(64, 4, HEADS)!r},\n"
            "        img_size=64, patch_size=16))\n")


def _options(config, num_heads=HEADS):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    opts = {
        'model.backbone.arch': tiny_vit_arch(64, 4, num_heads),
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


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
    """A training checkpoint (as tools/train.py writes it, with the config
    text in meta) exported by extract_backbone.py as .pth and
    .safetensors."""
    root = tmp_path_factory.mktemp('st')
    sd = tiny_vit_state_dict()
    full = {f'backbone.{k}': v for k, v in sd.items()}
    full['neck.weight'] = torch.ones(3)
    src = root / 'iter_10.pth'
    torch.save(
        {
            'meta': {
                'cfg': CFG_TEXT,
                'epoch': 1,
                'iter': 10
            },
            'state_dict': full,
            'message_hub': {}
        }, src)
    out = {}
    for ext in ('pth', 'safetensors'):
        dst = root / f'backbone.{ext}'
        assert extract_tool.main([str(src), str(dst)]) == 0
        out[ext] = str(dst)
    return sd, out


def test_num_heads_from_config_text_runs_nothing(tmp_path):
    assert num_heads_from_cfg_text(CFG_TEXT) == HEADS
    text = ("model = dict(type='X', backbone=dict(type='VisionTransformer',"
            " arch='deit-small'))\n")
    assert num_heads_from_cfg_text(text) == 6
    marker = tmp_path / 'ran'
    evil = (f"open({str(marker)!r}, 'w')\n"
            "model = dict(backbone=dict(arch=dict(num_heads=__import__("
            f"'os').system('touch {marker}'))))\n")
    assert num_heads_from_cfg_text(evil) is None
    assert not marker.exists()


def test_safetensors_export_same_as_pth(exports):
    sd, files = exports
    pth = load_checkpoint_file(files['pth'])
    st = load_checkpoint_file(files['safetensors'])
    assert set(pth['state_dict']) == set(st['state_dict'])
    assert set(st['state_dict']) == {f'backbone.{k}' for k in sd}
    for k, v in pth['state_dict'].items():
        assert torch.equal(v, st['state_dict'][k]), k
        assert torch.equal(v, sd[k[len('backbone.'):]]), k
    assert st['meta'] == pth['meta']
    assert st['meta']['num_heads'] == HEADS
    assert st['meta']['arch'] == tiny_vit_arch(64, 4, HEADS)
    assert st['meta']['source_branch'] == 'online'
    # the file's own metadata: strings only, readable by any safetensors
    # reader
    from safetensors import safe_open
    with safe_open(files['safetensors'], framework='pt') as f:
        raw = f.metadata()
    assert raw['num_heads'] == str(HEADS) and raw['source_branch'] == 'online'
    assert all(isinstance(v, str) for v in raw.values())
    assert read_safetensors_meta(files['safetensors'])['num_heads'] == HEADS


@pytest.mark.parametrize('config', [MASK_RCNN, FPN_ADE, UPERNET])
def test_safetensors_loads_strictly_into_downstream(config, exports):
    sd, files = exports
    opts = _options(config)
    values = {}
    for ext, path in files.items():
        code, msg = check_tool.check(osp.join(REPO_ROOT, config), path, opts)
        assert code == 0, msg
        assert '54 tensors loaded' in msg and 'values verified' in msg
        vit = StrictPretrainedViT(
            arch=tiny_vit_arch(64, 4, HEADS),
            img_size=64,
            patch_size=16,
            out_indices=(3, ),
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix='backbone.'))
        vit.init_weights()
        values[ext] = vit.state_dict()
    for k, v in values['pth'].items():
        assert torch.equal(v, values['safetensors'][k]), k
        assert torch.equal(v, sd[k]), k


@pytest.mark.parametrize('ext', ['pth', 'safetensors'])
def test_head_count_mismatch_refused_and_override(ext, exports):
    _, files = exports
    path = files[ext]
    config = osp.join(REPO_ROOT, FPN_ADE)
    # the config's head count differs from the recorded one: refused
    code, msg = check_tool.check(config, path, _options(FPN_ADE, 2))
    assert code == 1
    assert f'{HEADS} attention heads' in msg and 'has 2' in msg
    assert f'--cfg-options model.backbone.arch.num_heads={HEADS}' in msg
    vit = StrictPretrainedViT(
        arch=tiny_vit_arch(64, 4, 2),
        img_size=64,
        patch_size=16,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(
            HeadCountError, match=r'model\.backbone\.arch\.'
            rf'num_heads={HEADS}'):
        vit.init_weights()
    # the override named in the message fixes it
    opts = _options(FPN_ADE, 2)
    opts['model.backbone.arch.num_heads'] = HEADS
    code, msg = check_tool.check(config, path, opts)
    assert code == 0, msg


def test_mgc_release_records_eight_heads(tmp_path):
    """The MGC authors' files record 8 heads: a 6-head config is refused
    and ``model.backbone.arch.num_heads=8`` makes it load."""
    import timm
    model = timm.create_model(
        'vit_small_patch16_224',
        pretrained=False,
        num_classes=0,
        embed_dim=64,
        depth=4,
        num_heads=8,
        img_size=64)
    sd = {f'module.base_encoder.{k}': v for k, v in model.state_dict().items()}
    src = tmp_path / 'mgc_release.pth'
    torch.save({'state_dict': sd, 'epoch': 800, 'arch': 'vit_small'}, src)
    dst = tmp_path / 'mgc.safetensors'
    assert convert_tool.main([str(src), str(dst), '--format', 'mgc']) == 0
    meta = read_safetensors_meta(str(dst))
    assert meta['num_heads'] == 8 and meta['arch']['num_heads'] == 8
    config = osp.join(REPO_ROOT, FPN_ADE)
    code, msg = check_tool.check(config, str(dst), _options(FPN_ADE, 6))
    assert code == 1 and '8 attention heads' in msg and 'has 6' in msg
    assert 'model.backbone.arch.num_heads=8' in msg
    opts = _options(FPN_ADE, 6)
    opts['model.backbone.arch.num_heads'] = 8
    code, msg = check_tool.check(config, str(dst), opts)
    assert code == 0, msg
    # --num-heads overrides the recorded count
    assert convert_tool.main([
        str(src),
        str(tmp_path / 'six.pth'), '--format', 'mgc', '--num-heads', '4'
    ]) == 0
    assert load_checkpoint_file(str(tmp_path /
                                    'six.pth'))['meta']['num_heads'] == 4
