"""``bash tools/run_demo.sh`` end to end at a few iterations, for each demo
config (``MMMGC_DEMO_CONFIG``), without tools/install.sh
(``MMMGC_SKIP_INSTALL=1``): the console is short and ends with the table
and the picture's path, and the work dir holds the JSON and the PNG."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests._utils import REPO_ROOT

VENV = osp.dirname(osp.dirname(sys.executable))
DEMOS = [
    ('configs/mgc/mgc_demo.py', 'MGC', 'avg'),
    ('configs/mocov3/mocov3_vit-tiny-p8_demo.py', 'MoCo v3', 'cls'),
    ('configs/mugs/mugs_demo.py', 'Mugs', 'cls'),
]


def run_demo(config: str, work_dir: str, *train_args: str):
    env = dict(
        os.environ,
        MMMGC_SKIP_INSTALL='1',
        MMMGC_VENV=VENV,
        MMMGC_DEMO_CONFIG=config,
        MMMGC_WORK_DIR=work_dir,
        MMMGC_DEMO_REPORT_ARGS='--num-train 200 --num-test 100',
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join([REPO_ROOT] +
                                   ([os.environ['PYTHONPATH']] if os.environ.
                                    get('PYTHONPATH') else [])))
    return subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools/run_demo.sh'), *train_args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize('config,method,feature', DEMOS)
def test_run_demo_compact_end_to_end(config, method, feature, tmp_path):
    """Two iterations (one epoch of 128 scenes at batch 64)."""
    work = str(tmp_path / 'demo')
    proc = run_demo(config, work, '--cfg-options', 'train_cfg.max_epochs=1',
                    'train_dataloader.dataset.num_samples=128')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) < 25, proc.stdout
    assert len(proc.stderr.splitlines()) < 5, proc.stderr
    assert ' - INFO - ' not in proc.stdout  # no mmengine report
    assert out[0] == '[demo] MMMGC_SKIP_INSTALL=1: using ' + VENV + \
        ' as it is'
    progress = [s for s in out if s.startswith('[train] iter')]
    assert [s.split('(')[0]
            for s in progress] == ['[train] iter 1/2 ', '[train] iter 2/2 ']
    with open(osp.join(work, 'demo_report.json')) as f:
        rep = json.load(f)
    assert rep['method'] == method and rep['iterations'] == 2
    learned, rand = rep['rows']
    assert (learned['feature'], rand['feature']) == (feature, 'avg')
    assert set(rep['seconds']) == {'pretraining', 'evaluation', 'total'}
    assert rep['seconds']['total'] >= rep['seconds']['pretraining'] > 0
    # the table: title, header, both rows, wall times; then the paths
    i = out.index(f'mmmgc demo: {method}, 2 pretraining iterations')
    assert out[i + 2].split() == [
        'backbone', 'feature', 'kNN', 'top-1', 'linear', 'top-1', 'probe', 'lr'
    ]
    assert out[i + 3].startswith(f'  {method}, learned  {feature}')
    assert f"{learned['knn']:.2f} %" in out[i + 3]
    assert out[i + 4].startswith('  random init') and \
        f"{rand['linear']:.2f} %" in out[i + 4]
    assert any(s.startswith('  wall time: pretraining ') for s in out)
    pic = osp.join(work, 'attention.png')
    assert out[-2].startswith(f'picture: {pic} ')
    assert out[-1] == f"numbers: {osp.join(work, 'demo_report.json')}"
    assert osp.getsize(pic) > 1000
    # everything the console left out is in the log file
    (stamp, ) = [d for d in os.listdir(work) if osp.isdir(osp.join(work, d))]
    with open(osp.join(work, stamp, stamp + '.log')) as f:
        log = f.read()
    assert 'Config:' in log and 'Saving checkpoint at 1 epochs' in log
