"""tools/analysis/knn.py quick-pretrain end to end on a few Mugs steps."""
import json
import os.path as osp
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_quick_pretrain_knn_runs_and_reports(repo_root, tmp_path):
    cmd = [
        sys.executable,
        osp.join(repo_root, 'tools/analysis/knn.py'), 'quick-pretrain',
        osp.join(repo_root, 'configs/mugs/mugs_demo.py'), '--iters', '3',
        '--batch', '4', '--samples', '12', '--tag', 'smoke',
        '--cfg-options', 'model.instance_head.queue_length=16',
        'model.local_group_head.queue_length=16',
        'model.neighbour_buffer_length=16'
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [x for x in out.stdout.splitlines() if x.startswith('RESULT ')]
    res = json.loads(line[-1][len('RESULT '):])
    assert res['tag'] == 'smoke'
    assert 0 <= res['random'] <= 100 and 0 <= res['learned'] <= 100
    losses = res['final_losses']
    assert set(losses) == {
        'loss', 'loss_instance', 'loss_local_group', 'loss_group'
    }
    assert all(v > 0 for v in losses.values())
    assert losses['loss'] == pytest.approx(
        losses['loss_instance'] + losses['loss_local_group'] +
        losses['loss_group'], abs=2e-3)
