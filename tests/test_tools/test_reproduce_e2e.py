"""tools/reproduce.py end to end on CPU at tiny size: the MGC demo
pretraining (interrupted after its first epoch, then resumed by the chain),
export, check_transfer on every config, then every downstream task family
(Mask R-CNN, Semantic FPN, UPerNet, ViTPose, kNN, linear probe, DAVIS) for
2 iterations on generated data in the real formats, then the results
table; a re-run skips everything; a wrong checkpoint is refused before any
downstream run."""
import io
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmmgc.checkpoint import load_checkpoint_file
from mmmgc.reproduce import StepFailed, write_results
from tests._utils import REPO_ROOT
from tests._utils.downstream_cfg import load_tiny
from tests._utils.downstream_data import (make_ade20k, make_coco,
                                          write_coco_keypoints, write_davis)
from tests._utils.transfer import (set_tiny_backbone, shrink_pipeline,
                                   write_vit_checkpoint)

DEMO = 'configs/mgc/mgc_demo.py'
PRETRAIN_OPTS = [
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.num_samples=8',
    'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1'
]
EMBED, LAYERS, HEADS, PATCH, IMG = 64, 2, 4, 8, 64  # the demo's ViT
CONFIGS = dict(
    det=('configs/mgc/benchmarks/mmdetection/'
         'mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py'),
    fpn=('configs/mgc/benchmarks/mmsegmentation/'
         'fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py'),
    upernet=('configs/mugs/benchmarks/mmsegmentation/'
             'upernet_vit-small-p16_8xb2-160k_ade20k-512x512.py'),
    pose=('configs/mgc/benchmarks/mmpose/'
          'td-hm_vit-small-p16_8xb64-210e_coco-256x192.py'),
    knn='configs/mugs/benchmarks/classification/vit-small-p16_knn-k20-'
    't0.05_in1k.py',
    linear=('configs/mugs/benchmarks/classification/vit-small-p16_linear-'
            'last4cls-8xb128-coslr-100e_in1k.py'),
    davis=('configs/mugs/benchmarks/davis/'
           'davis2017_vit-base-p16_label-propagation.py'))


def _env():
    return dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))


def _reproduce(*args):
    return subprocess.run([sys.executable, 'tools/reproduce.py', *args],
                          cwd=REPO_ROOT,
                          env=_env(),
                          capture_output=True,
                          text=True)


def _chain(tables, work_dir, **kw):
    from mmmgc.reproduce import Chain, Launcher, get_table
    return Chain(
        get_table('mgc', 'tiny', REPO_ROOT, tables),
        str(work_dir),
        Launcher('local'),
        REPO_ROOT,
        out=io.StringIO(),
        **kw)


def _iter_ckpt_hook(cfg, by_epoch=False):
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        interval=1 if by_epoch else 2,
        by_epoch=by_epoch)


def _det_seg(name, root, out):
    cfg = load_tiny(
        osp.join(REPO_ROOT, CONFIGS[name]),
        root,
        None,
        out,
        num_layers=LAYERS,
        patch_size=PATCH,
        img_size=IMG)
    cfg.model.backbone.arch.num_heads = HEADS
    _iter_ckpt_hook(cfg, by_epoch=name == 'det')
    return cfg


def _pose(root):
    from mmengine.config import Config
    in_w, in_h, hm_w, hm_h = 48, 64, 24, 32
    write_coco_keypoints(root, 'train2017', 4, 0)
    val_ann = write_coco_keypoints(root, 'val2017', 2, 1)
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS['pose']))
    set_tiny_backbone(cfg.model.backbone, '', (in_h, in_w))
    cfg.model.backbone.drop_path_rate = 0.0
    if cfg.optim_wrapper.get('paramwise_cfg'):  # the layer-decay recipe
        cfg.optim_wrapper.paramwise_cfg.num_layers = LAYERS
    codec = dict(
        type='UDPHeatmap',
        input_size=(in_w, in_h),
        heatmap_size=(hm_w, hm_h),
        sigma=2)
    cfg.model.head.update(
        in_channels=EMBED, deconv_out_channels=(32, 32), decoder=codec)
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.update(batch_size=2, num_workers=0, persistent_workers=False)
        dl.dataset.data_root = str(root) + '/'
        for t in dl.dataset.pipeline:
            if t['type'] == 'TopdownAffine':
                t['input_size'] = codec['input_size']
            if t['type'] == 'GenerateTarget':
                t['encoder'] = codec
    cfg.val_dataloader.dataset.bbox_file = None  # ground-truth boxes
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator.ann_file = val_ann
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    _iter_ckpt_hook(cfg)
    cfg.default_hooks.visualization = dict(
        type='PoseVisualizationHook', enable=False)
    return cfg


def _imagenet_like(root, n_cls=4, per_split=4):
    """ImageNet layout (``train/<cls>/*.png``, ``meta/{train,val}.txt``):
    each class a colour, so the classes are separable."""
    import cv2
    rng = np.random.default_rng(0)
    os.makedirs(root / 'meta')
    for split in ('train', 'val'):
        lines = []
        for c in range(n_cls):
            os.makedirs(root / split / f'c{c}', exist_ok=True)
            for i in range(per_split):
                img = rng.integers(0, 60, (IMG, IMG, 3), dtype=np.uint8)
                img[..., c % 3] += np.uint8(120 + 40 * (c // 3))
                cv2.imwrite(str(root / split / f'c{c}' / f'{i}.png'), img)
                lines.append(f'c{c}/{i}.png {c}')
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return str(root)


def _classification(name, root):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[name]))
    bb = cfg.model.backbone
    set_tiny_backbone(bb, '', IMG)
    if name == 'linear':
        bb.frozen_stages = LAYERS
        bb.out_indices = [-2, -1]
        cfg.model.neck.num_layers = 2
        cfg.model.head.in_channels = 2 * EMBED
        cfg.train_cfg = dict(
            type='IterBasedTrainLoop', max_iters=2, val_interval=100)
        cfg.param_scheduler = [
            dict(type='ConstantLR', factor=1.0, by_epoch=False)
        ]
        _iter_ckpt_hook(cfg)
        cfg.auto_scale_lr = dict(enable=False, base_batch_size=1024)
    else:
        cfg.knn.k = 4
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg.get(key)
        dl.dataset.data_root = root
        dl.dataset.pipeline = shrink_pipeline(dl.dataset.pipeline, IMG)
        dl.update(batch_size=4, num_workers=0, persistent_workers=False)
    return cfg


def _davis(root):
    from mmengine.config import Config
    rng = np.random.default_rng(0)
    frames, masks = [], []
    for t in range(3):
        f = rng.integers(0, 255, (IMG, 96, 3), dtype=np.uint8)
        m = np.zeros((IMG, 96), np.uint8)
        m[16:40, 8 + 8 * t:32 + 8 * t] = 1
        f[m == 1] = (250, 250, 30)
        frames.append(f)
        masks.append(m)
    write_davis(root, 'moving', frames, masks)
    (root / 'ImageSets' / '2017').mkdir(parents=True)
    (root / 'ImageSets' / '2017' / 'val.txt').write_text('moving\n')
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS['davis']))
    set_tiny_backbone(cfg.model, '', IMG)
    cfg.data.update(data_root=str(root), short_side=IMG, size_divisor=16)
    cfg.propagation.radius = 3
    return cfg


PAPER = dict(
    det=42.0,
    fpn=37.7,
    upernet=47.4,
    pose=71.6,
    knn=75.6,
    linear=78.9,
    davis=63.1)
METRICS = dict(
    det=('coco/bbox_mAP', 100),
    fpn=('mIoU', 1),
    upernet=('mIoU', 1),
    pose=('coco/AP', 100),
    knn=('top1_k4', 1),
    linear=('accuracy/top1', 1),
    davis=('JF_mean', 1))
TASKS = dict(knn='knn', davis='davis')


def _write_table(tmp_path, configs):
    """A tables file for the tiny configs (the same schema as
    configs/*/benchmarks/tables.yml)."""
    import yaml
    rows = []
    for name, path in configs.items():
        key, scale = METRICS[name]
        rows.append(
            dict(
                name=name,
                task=TASKS.get(name, 'train'),
                config=path,
                source=f'test (paper value of {CONFIGS[name].split("/")[1]})',
                metrics=[
                    dict(key=key, name=key, scale=scale, paper=PAPER[name])
                ]))
    path = tmp_path / 'tables.yml'
    path.write_text(
        yaml.safe_dump(
            dict(
                method='mgc',
                export_source='online',
                tables=dict(
                    tiny=dict(
                        description='tiny CPU chain',
                        pretrain=DEMO,
                        pretrain_gpus=1,
                        rows=rows)))))
    return str(path)


@pytest.mark.slow
def test_reproduce_chain_end_to_end(tmp_path):
    data = tmp_path / 'data'
    coco = make_coco(str(data / 'coco'))
    ade = make_ade20k(str(data / 'ade'))
    cfgs = dict(
        det=_det_seg('det', coco, ''),
        fpn=_det_seg('fpn', ade, ''),
        upernet=_det_seg('upernet', ade, ''),
        pose=_pose(data / 'pose'))
    inet = _imagenet_like(data / 'imagenet')
    cfgs.update(
        knn=_classification('knn', inet),
        linear=_classification('linear', inet),
        davis=_davis(data / 'DAVIS'))
    paths = {}
    for name, cfg in cfgs.items():
        paths[name] = str(tmp_path / f'{name}_tiny.py')
        cfg.dump(paths[name])
    tables = _write_table(tmp_path, paths)
    common = ['mgc', 'tiny', '--tables', tables]

    # 1. a checkpoint that does not fit (3 blocks, the configs have 2) is
    # refused by check_transfer before any downstream run starts
    bad = tmp_path / 'bad.pth'
    write_vit_checkpoint(bad, IMG, patch_size=PATCH, num_layers=3)
    bad_dir = tmp_path / 'bad_run'
    chain = _chain(
        tables, bad_dir, checkpoint=str(bad), checkpoint_format='backbone')
    with pytest.raises(StepFailed) as err:
        chain.run()
    msg = str(err.value)
    assert "step 'det/check' FAILED" in msg
    assert 'no downstream run was started' in msg
    assert f'log: {bad_dir}/det/check/reproduce.log' in msg
    assert 'layers.2' in msg  # the error names the unused keys
    write_results(chain)
    assert sorted(os.listdir(bad_dir)) == ['det', 'results.json', 'results.md']
    assert os.listdir(bad_dir / 'det') == ['check']
    rows = json.loads((bad_dir / 'results.json').read_text())['rows']
    assert [r['status'] for r in rows] == ['failed (check)'] + \
        ['pending'] * 6

    # 2. an interrupted pretraining: the work dir holds epoch 1 of 2
    work = tmp_path / 'run'
    pre = work / 'pretrain'
    subprocess.run([
        sys.executable, 'tools/train.py', DEMO, '--work-dir',
        str(pre), '--cfg-options', *PRETRAIN_OPTS, 'train_cfg.max_epochs=1'
    ],
                   cwd=REPO_ROOT,
                   env=_env(),
                   check=True,
                   capture_output=True)
    assert (pre / 'epoch_1.pth').exists()
    first = (pre / 'epoch_1.pth').stat().st_mtime_ns

    # 3. the chain resumes it, exports, checks, runs every downstream task
    res = _reproduce(*common, '--work-dir', str(work), '--pretrain-options',
                     *PRETRAIN_OPTS, 'train_cfg.max_epochs=2')
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    assert 'pretrain: resuming' in res.stdout
    pre_log = (pre / 'reproduce.log').read_text()
    assert 'train_cfg.max_epochs=2 --resume' in pre_log
    assert 'resumed epoch: 1' in pre_log
    assert (pre / 'epoch_1.pth').stat().st_mtime_ns == first
    final = load_checkpoint_file(str(pre / 'epoch_2.pth'))
    assert final['meta']['epoch'] == 2
    exported = load_checkpoint_file(str(work / 'export' /
                                        'backbone.pth'))['state_dict']
    for k, v in exported.items():
        assert torch.equal(v, final['state_dict'][k]), k
    # each downstream run loaded the exported file strictly
    backbone = str(work / 'export' / 'backbone.pth')
    for name in ('det', 'fpn', 'upernet', 'pose', 'linear'):
        log = (work / name / 'train' / 'reproduce.log').read_text()
        assert f'init_cfg.checkpoint={backbone}' in log
        assert 'strict pretrained load: ' in log, name
        assert (work / name / 'test' / 'metrics.json').exists()
    results = json.loads((work / 'results.json').read_text())
    from mmmgc.reproduce import sha256
    sha = sha256(backbone)
    assert results['backbone_sha256'] == sha
    for row in results['rows']:
        assert row['status'] == 'done', row
        assert row['checkpoint_sha256'] == sha
        assert row['commit'] and row['date']
        m = row['metrics'][0]
        assert m['paper'] == PAPER[row['row']]
        assert m['ours'] is not None and 0 <= m['ours'] <= 100, row
        assert m['diff'] == pytest.approx(m['ours'] - m['paper'], abs=1e-3)
        raw = json.load(open(row['metrics_file']))[m['key']]
        assert m['ours'] == pytest.approx(raw * METRICS[row['row']][1])
    md = (work / 'results.md').read_text()
    assert md.count(f'({sha[:12]})') == 7
    assert '| davis | JF_mean |' in md

    # 4. a re-run finds every step finished and runs nothing
    before = (work / 'det' / 'train' / 'reproduce.log').stat().st_mtime_ns
    chain = _chain(
        tables,
        work,
        pretrain_options=PRETRAIN_OPTS + ['train_cfg.max_epochs=2'])
    chain.run()
    text = chain.out.getvalue()
    assert text.count('done, skipped') == 2 + 7 + 5 * 2 + 2, text
    assert 'running' not in text
    assert (work / 'det' / 'train' /
            'reproduce.log').stat().st_mtime_ns == before
    # ... and collecting again gives the same table
    again = write_results(chain)
    assert [r['metrics'] for r in again['rows']] == \
        [r['metrics'] for r in results['rows']]
