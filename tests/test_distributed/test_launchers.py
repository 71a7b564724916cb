"""The launch scripts really train/test with 2 processes on CPU (gloo):
``tools/dist_train.sh`` as two torchrun "nodes" on this machine (NNODES,
NODE_RANK, MASTER_ADDR, PORT), ``tools/slurm_train.sh`` through a fake
``srun`` that starts the tasks locally with the SLURM variables set (and a
fake ``scontrol`` on PATH, as mmengine's slurm launcher calls it), and
``tools/dist_test.sh`` on a tiny classification config."""
import json
import os
import os.path as osp
import signal
import stat
import subprocess
import time

import pytest
import torch

from tests._utils import REPO_ROOT
from tests._utils import scaleout as u

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('scaleout_launch')]

FAKE_SRUN = r'''#!/usr/bin/env python3
"""Fake srun: records its arguments, then starts --ntasks local tasks."""
import json, os, subprocess, sys
args = sys.argv[1:]
opts, i = {}, 0
while i < len(args) and args[i].startswith('-'):
    if args[i] == '-p':
        opts['partition'] = args[i + 1]
        i += 2
        continue
    key, _, val = args[i].lstrip('-').partition('=')
    opts[key] = val
    i += 1
cmd = args[i:]
with open(os.environ['FAKE_SRUN_LOG'], 'w') as f:
    json.dump(dict(opts=opts, cmd=cmd), f)
ntasks = int(opts['ntasks'])
per_node = int(opts['ntasks-per-node'])
procs = []
for rank in range(ntasks):
    env = dict(os.environ, SLURM_PROCID=str(rank), SLURM_NTASKS=str(ntasks),
               SLURM_LOCALID=str(rank % per_node),
               SLURM_NODELIST='fake-node[0-%d]' % ((ntasks - 1) // per_node),
               SLURM_JOB_ID='4242', SLURM_JOB_NAME=opts['job-name'])
    procs.append(subprocess.Popen(cmd, env=env))
sys.exit(max(p.wait() for p in procs))
'''

FAKE_SCONTROL = '''#!/bin/sh
# Fake scontrol: "scontrol show hostname LIST" -> this machine.
echo 127.0.0.1
'''


def _executable(path: str, text: str) -> str:
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def _train_cfg(tmp_path) -> str:
    # 2 ranks x batch 2, 8 samples: 2 iterations in one epoch.
    cfg = u.tiny_cfg('mgc', batch_size=2, max_iters=2, ckpt_interval=2)
    return u.dump_cfg(cfg, str(tmp_path / 'mgc_launch.py'))


def _check_two_rank_training(work_dir: str, launcher: str) -> None:
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    rec = [u.read_records(work_dir, rank) for rank in (0, 1)]
    assert sorted(rec[0]) == sorted(rec[1]) == [1, 2]
    # each rank trained on its own shard of the data
    assert rec[0][1]['inputs'] != rec[1][1]['inputs']
    logs = [
        osp.join(r, f) for r, _, fs in os.walk(work_dir) for f in fs
        if f.endswith('.log')
    ]
    text = ''.join(open(p).read() for p in logs)
    assert f'Distributed launcher: {launcher}' in text
    assert 'Distributed training: True' in text
    ckpt = u.load_ckpt(osp.join(work_dir, 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2


def test_dist_train_two_nodes_of_one_process(tmp_path):
    cfg_path = _train_cfg(tmp_path)
    work_dir = str(tmp_path / 'work')
    port = u.free_port()
    procs, logs = [], []
    for node_rank in (0, 1):
        env = u.run_env(
            dict(
                NNODES='2',
                NODE_RANK=str(node_rank),
                MASTER_ADDR='127.0.0.1',
                PORT=str(port)))
        # output to files, not pipes: a node blocked on a full pipe would
        # stall the other node in a collective
        log = open(tmp_path / f'node{node_rank}.log', 'w+')
        logs.append(log)
        procs.append(
            subprocess.Popen([
                'bash',
                osp.join(REPO_ROOT, 'tools/dist_train.sh'), cfg_path, '1',
                '--work-dir', work_dir
            ],
                             cwd=REPO_ROOT,
                             env=env,
                             stdout=log,
                             stderr=subprocess.STDOUT,
                             text=True,
                             start_new_session=True))
    deadline = time.monotonic() + 300
    try:
        for p in procs:
            p.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for p in procs:
            if p.poll() is None:  # kill the whole launcher tree
                os.killpg(os.getpgid(p.pid), signal.SIGKILL)
                p.wait()
    outs = []
    for log in logs:
        log.seek(0)
        outs.append(log.read())
        log.close()
    for i, (p, out) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, f'node {i} exited {p.returncode}:\n' + \
            '\n'.join(f'--- node {j} ---\n{o[-4000:]}'
                      for j, o in enumerate(outs))
    _check_two_rank_training(work_dir, 'pytorch')


def test_slurm_train_with_fake_srun(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = _executable(str(bin_dir / 'srun'), FAKE_SRUN)
    _executable(str(bin_dir / 'scontrol'), FAKE_SCONTROL)
    cfg_path = _train_cfg(tmp_path)
    work_dir = str(tmp_path / 'work')
    srun_log = str(tmp_path / 'srun.json')
    env = u.run_env(
        dict(
            PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
            SRUN=srun,
            GPUS='2',
            GPUS_PER_NODE='2',
            CPUS_PER_TASK='1',
            SRUN_ARGS='--quotatype=auto',
            MASTER_PORT=str(u.free_port()),
            FAKE_SRUN_LOG=srun_log))
    u.run([
        'bash',
        osp.join(REPO_ROOT, 'tools/slurm_train.sh'), 'cpu-part', 'mgc-job',
        cfg_path, '--work-dir', work_dir
    ],
          env=env)
    with open(srun_log) as f:
        call = json.load(f)
    opts = call['opts']
    assert opts['partition'] == 'cpu-part'
    assert opts['job-name'] == 'mgc-job'
    assert opts['ntasks'] == '2' and opts['ntasks-per-node'] == '2'
    assert opts['gres'] == 'gpu:2' and opts['cpus-per-task'] == '1'
    assert 'quotatype' in opts  # SRUN_ARGS passed through
    assert '--launcher=slurm' in call['cmd']
    _check_two_rank_training(work_dir, 'slurm')


def _test_cfg(tmp_path) -> str:
    """A tiny ViT classifier evaluated on 16 Fashion-MNIST items."""
    from mmengine.config import Config
    img = 32
    pipeline = [dict(type='PackInputs')]
    cfg = dict(
        default_scope='mmpretrain',
        custom_imports=dict(imports=['mmmgc'], allow_failed_imports=False),
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                num_classes=10,
                mean=[128., 128., 128.],
                std=[64., 64., 64.],
                to_rgb=True),
            backbone=dict(
                type='VisionTransformer',
                arch=dict(
                    embed_dims=32,
                    num_layers=1,
                    num_heads=2,
                    feedforward_channels=64),
                img_size=img,
                patch_size=8),
            neck=None,
            head=dict(
                type='VisionTransformerClsHead',
                num_classes=10,
                in_channels=32)),
        test_dataloader=dict(
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='FashionMNISTItems',
                split='test',
                num_samples=16,
                img_size=img,
                seed=0,
                pipeline=pipeline)),
        test_evaluator=dict(type='Accuracy', topk=(1, )),
        test_cfg=dict(),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
    )
    path = str(tmp_path / 'cls_test.py')
    Config(cfg).dump(path)
    return path


def test_dist_test_two_processes(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg_path = _test_cfg(tmp_path)
    cfg = Config.fromfile(cfg_path)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = str(tmp_path / 'cls.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out_file = str(tmp_path / 'metrics.json')
    env = u.run_env(dict(PORT=str(u.free_port())))
    out = u.run([
        'bash',
        osp.join(REPO_ROOT, 'tools/dist_test.sh'), cfg_path, ckpt, '2',
        '--work-dir',
        str(tmp_path / 'work'), '--out', out_file
    ],
                env=env).stdout
    with open(out_file) as f:
        metrics = json.load(f)
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    assert 'Distributed launcher: pytorch' in out
    # 16 images, 2 ranks x 2 batches of 4: each rank ran 2 iterations
    assert '[2/2]' in out and '[3/2]' not in out
