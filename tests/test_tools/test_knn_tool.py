"""tools/analysis/knn.py: ``items`` (the demo's evaluation) loads every
backbone tensor of a checkpoint; ``quick-pretrain`` runs end to end on a
few Mugs steps."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch


@pytest.mark.slow
def test_quick_pretrain_knn_runs_and_reports(repo_root, tmp_path):
    cmd = [
        sys.executable,
        osp.join(repo_root, 'tools/analysis/knn.py'), 'quick-pretrain',
        osp.join(repo_root, 'configs/mugs/mugs_demo.py'), '--iters', '3',
        '--batch', '4', '--samples', '12', '--tag', 'smoke', '--cfg-options',
        'model.instance_head.queue_length=16',
        'model.local_group_head.queue_length=16',
        'model.neighbour_buffer_length=16'
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
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
        losses['loss_group'],
        abs=2e-3)


def test_knn_items_tool_loads_the_checkpoint(repo_root, tmp_path, capsys):
    """``tools/analysis/knn.py items`` (the demo's evaluation): every
    backbone tensor of the checkpoint is loaded, a checkpoint holding the
    random initialisation's backbone scores exactly what the random
    initialisation scores, and the JSON names the feature."""
    import importlib.util
    import json
    import os.path as osp

    from mmengine.config import Config

    from mmmgc.evaluation import build_frozen_backbone
    cfg_path = osp.join(repo_root, 'configs/mgc/mgc_demo.py')
    torch.manual_seed(0)
    backbone = build_frozen_backbone(Config.fromfile(cfg_path).model)
    ckpt = str(tmp_path / 'random.pth')
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in backbone.state_dict().items()
            }
        }, ckpt)
    spec = importlib.util.spec_from_file_location(
        'knn_tool', osp.join(repo_root, 'tools/analysis/knn.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 'knn.json')
    res = tool.main([
        'items', cfg_path, ckpt, '--num-train', '40', '--num-test', '20',
        '--k', '5', '--compare-random', '--out', out
    ])
    n = len(backbone.state_dict())
    assert f'loaded {n} backbone tensors from {ckpt} (strict)' in \
        capsys.readouterr().out
    assert res['feature'] == 'avg'  # MGC: mean patch token
    assert 0 <= res['random_init'] <= 100
    assert res['pretrained'] == res['random_init']
    with open(out) as f:
        assert json.load(f) == res
