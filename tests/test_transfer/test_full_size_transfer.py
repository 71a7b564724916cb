"""Paper-size path through the tools a user runs: the model of each
method's paper pretraining config, built at FULL size (no width, depth or
head count swapped in) -> a checkpoint laid out as ``tools/train.py``
writes it -> ``tools/model_converters/extract_backbone.py`` ->
``tools/misc/check_transfer.py`` on every downstream config of that method,
with no override of the backbone. Tools run as subprocesses."""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import List

import pytest
import torch

from mmmgc.checkpoint import load_checkpoint_file
from tests._utils import REPO_ROOT

PRETRAIN = {
    'mgc': 'configs/mgc/mgc_vit-small-p16_8xb32-coslr-800e_coco.py',
    'mugs': 'configs/mugs/mugs_vit-small-p16_16xb64-800e_in1k.py',
}
# which branch each method's READMEs export
SOURCE = {'mgc': 'online', 'mugs': 'momentum'}
# DAVIS is a ViT-B/16 protocol whose tool loads the backbone itself
# (check_transfer does not take a bare-backbone config)
NOT_CHECKED = {
    'configs/mugs/benchmarks/davis/'
    'davis2017_vit-base-p16_label-propagation.py'
}
VIT_S_TENSORS = 150  # cls_token, pos_embed, patch embed 2, 12 x 12, ln1 2


def downstream_configs(method: str) -> List[str]:
    """Every downstream config of ``method`` that takes a ViT-S/16 file."""
    import glob
    found = sorted(
        osp.relpath(p, REPO_ROOT) for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', method, 'benchmarks', '*', '*.py')))
    return [c for c in found if c not in NOT_CHECKED]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    return subprocess.run([sys.executable, *args],
                          cwd=REPO_ROOT,
                          env=env,
                          capture_output=True,
                          text=True)


def _fill_distinct(model: torch.nn.Module, seed: int) -> None:
    """Give every parameter and float buffer its own random values, so that
    the student and the EMA teacher differ and a wrong branch, prefix or
    key cannot pass for the right one."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(model.parameters()) + [
                b for b in model.buffers() if b.is_floating_point()
        ]:
            t.copy_(torch.randn(t.shape, generator=g) * 0.02)


def _save_like_train_py(model, cfg, path: str) -> None:
    """The layout of ``Runner.save_checkpoint``: ``meta`` (with the config
    text) + ``state_dict`` (+ optimiser and message hub, left out here)."""
    import mmengine
    from mmengine.runner.checkpoint import (get_state_dict, save_checkpoint,
                                            weights_to_cpu)
    checkpoint = dict(
        meta=dict(
            cfg=cfg.pretty_text,
            epoch=800,
            iter=800,
            seed=0,
            experiment_name=osp.basename(path),
            mmengine_version=mmengine.__version__),
        state_dict=weights_to_cpu(get_state_dict(model)))
    save_checkpoint(checkpoint, path)


@pytest.fixture(scope='module', params=sorted(PRETRAIN))
def exported(request, tmp_path_factory):
    """(method, exported backbone file, its state dict) for a full-size
    pretraining model saved and exported through the tools."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mmmgc  # noqa: F401
    method = request.param
    cfg = Config.fromfile(osp.join(REPO_ROOT, PRETRAIN[method]))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    backbone = model.backbone
    # the paper's ViT-S/16: 384 wide, 12 blocks, 6 heads, MLP 1536
    assert backbone.embed_dims == 384 and backbone.num_layers == 12
    assert backbone.layers[0].attn.num_heads == 6
    assert backbone.layers[0].ffn.layers[0][0].out_features == 1536
    n = sum(p.numel() for p in backbone.parameters())
    assert n == pytest.approx(21.7e6, rel=0.01), n
    _fill_distinct(model, seed=1)

    tmp = tmp_path_factory.mktemp(f'full_{method}')
    ckpt = str(tmp / 'epoch_800.pth')
    _save_like_train_py(model, cfg, ckpt)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    del model

    out = str(tmp / 'backbone.pth')
    res = _run('tools/model_converters/extract_backbone.py', ckpt, out,
               '--source', SOURCE[method])
    assert res.returncode == 0, res.stdout + res.stderr
    exp = load_checkpoint_file(str(out))
    sd = exp['state_dict']
    assert len(sd) == VIT_S_TENSORS, sorted(sd)
    # the exported tensors are the chosen branch's, key for key
    prefix = exp['meta']['source_prefix']
    assert (prefix == 'backbone.') == (SOURCE[method] == 'online')
    for k, v in sd.items():
        assert torch.equal(v, state[prefix + k[len('backbone.'):]]), k
    return method, out, sd


def test_every_downstream_config_is_checked():
    for method in PRETRAIN:
        configs = downstream_configs(method)
        assert configs, method
        libs = {c.split('/')[3] for c in configs}
        want = {'mmdetection', 'mmsegmentation', 'classification'}
        if method == 'mgc':
            want.add('mmpose')
        assert want <= libs, (method, libs)


@pytest.mark.slow
def test_full_size_export_fits_every_downstream_config(exported):
    """One ``check_transfer.py`` process per downstream config (a few at a
    time); every one must load all 150 tensors strictly, with nothing
    missing or unused and the values verified."""
    from concurrent.futures import ThreadPoolExecutor
    method, backbone_file, sd = exported
    configs = downstream_configs(method)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
        results = list(
            ex.map(
                lambda c: _run('tools/misc/check_transfer.py', c, backbone_file
                               ), configs))
    failures = []
    for config, res in zip(configs, results):
        text = res.stdout + res.stderr
        ok = (
            res.returncode == 0 and 'check_transfer: OK' in res.stdout
            and re.search(rf'\b{len(sd)} tensors loaded', res.stdout))
        if not ok:
            failures.append(f'{config} (exit {res.returncode}):\n'
                            f'{text[-1500:]}')
    assert not failures, '\n\n'.join(failures)
