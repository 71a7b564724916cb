"""End to end, through the tools a user runs: a demo pretraining run ->
extract_backbone -> check_transfer -> 2 iterations of Mask R-CNN and of
Semantic FPN, all as subprocesses."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from mmmgc.checkpoint import load_checkpoint_file
from tests._utils import REPO_ROOT
from tests._utils.downstream_cfg import load_tiny

MGC_DEMO = 'configs/mgc/mgc_demo.py'
MOCOV3_DEMO = 'configs/mocov3/mocov3_vit-tiny-p8_demo.py'
MASK_RCNN = ('configs/mgc/benchmarks/mmdetection/'
             'mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py')
FPN_ADE = ('configs/mgc/benchmarks/mmsegmentation/'
           'fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py')


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run([sys.executable, *args],
                         cwd=REPO_ROOT,
                         env=env,
                         capture_output=True,
                         text=True)
    assert res.returncode == 0, (f'{args} failed ({res.returncode}):\n'
                                 f'{res.stdout[-3000:]}\n'
                                 f'{res.stderr[-3000:]}')
    return res


@pytest.mark.slow
def test_pretrain_export_check_finetune(tmp_path, synthetic_data):
    from mmengine.config import Config

    # 1. pretraining: the MGC demo when present, else MoCo v3's; 2 iterations
    demo = MGC_DEMO if osp.exists(osp.join(REPO_ROOT, MGC_DEMO)) \
        else MOCOV3_DEMO
    pre_dir = tmp_path / 'pretrain'
    _run('tools/train.py', demo, '--work-dir', str(pre_dir), '--cfg-options',
         'train_dataloader.batch_size=4',
         'train_dataloader.dataset.num_samples=8', 'train_cfg.max_epochs=1',
         'default_hooks.checkpoint.interval=1')
    ckpt = pre_dir / 'epoch_1.pth'
    assert ckpt.exists()
    state = load_checkpoint_file(str(ckpt))['state_dict']
    demo_bb = Config.fromfile(osp.join(REPO_ROOT, demo)).model.backbone

    # 2. export the momentum (teacher) backbone
    exported = tmp_path / 'backbone.pth'
    out = _run('tools/model_converters/extract_backbone.py', str(ckpt),
               str(exported), '--source', 'momentum').stdout
    assert 'momentum branch' in out
    exp = load_checkpoint_file(str(exported))
    prefix = exp['meta']['source_prefix']
    assert prefix != 'backbone.' and exp['meta']['source_branch'] == \
        'momentum'
    for k, v in exp['state_dict'].items():
        assert torch.equal(v, state[prefix + k[len('backbone.'):]]), k
    vit = exp['meta']['vit']

    # 3. + 4. check the file against each config, then fine-tune 2 iters
    for config, data, tag in ((MASK_RCNN, 'coco', 'det'), (FPN_ADE, 'ade20k',
                                                           'seg')):
        cfg = load_tiny(
            osp.join(REPO_ROOT, config),
            synthetic_data[data],
            str(exported),
            str(tmp_path / tag),
            num_layers=vit['num_layers'],
            patch_size=vit['patch_size'],
            img_size=demo_bb.img_size)
        cfg.model.backbone.arch.num_heads = demo_bb.arch['num_heads']
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook',
            interval=1 if tag == 'det' else 2,
            by_epoch=tag == 'det')
        cfg_path = str(tmp_path / f'{tag}_tiny.py')
        cfg.dump(cfg_path)
        res = _run('tools/misc/check_transfer.py', cfg_path, str(exported))
        assert f'{vit["num_tensors"]} tensors loaded' in res.stdout
        assert 'check_transfer: OK' in res.stdout
        res = _run('tools/train.py', cfg_path, '--work-dir',
                   str(tmp_path / tag))
        log = res.stdout + res.stderr
        assert re.search(r'strict pretrained load: \d+ tensors loaded', log)
        final = tmp_path / tag / ('epoch_1.pth'
                                  if tag == 'det' else 'iter_2.pth')
        trained = load_checkpoint_file(str(final))['state_dict']
        assert load_checkpoint_file(str(final))['meta']['iter'] == 2
        for k, v in exp['state_dict'].items():
            assert torch.allclose(trained[k], v, atol=1e-4), k

    # 5. a mismatching file is refused by the tool (non-zero, keys named)
    bad = dict(exp['state_dict'])
    bad.pop('backbone.ln1.bias')
    torch.save({'state_dict': bad}, tmp_path / 'bad.pth')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run([
        sys.executable, 'tools/misc/check_transfer.py', cfg_path,
        str(tmp_path / 'bad.pth')
    ],
                         cwd=REPO_ROOT,
                         env=env,
                         capture_output=True,
                         text=True)
    assert res.returncode == 1 and 'ln1.bias' in res.stderr
