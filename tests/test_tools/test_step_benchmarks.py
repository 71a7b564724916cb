"""The step-time and GPU benchmarks run end to end at tiny size on the CPU
(the same code path as their full runs) and report what they promise. No
timing assertions: only structure, FLOP counts and consistency."""
import importlib.util
import os.path as osp

import pytest

from tests._utils import REPO_ROOT

BENCH_DIR = osp.join(REPO_ROOT, 'tools', 'benchmarks')


def _load(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(BENCH_DIR, name + '.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_bench_smoke_on_cpu(capsys):
    gpu_bench = _load('gpu_bench')
    rows = gpu_bench.main(
        ['--device', 'cpu', '--tiny', '--steps', '1', '--warmup', '1'])
    assert [r['model'] for r in rows
            ] == ['MoCo v3, 2 views', 'MGC', "MoCo v3, Mugs' 4 crops", 'Mugs']
    assert [r['crops'] for r in rows] == [2, 2, 6, 6]
    for r in rows:
        assert r['img_s'] > 0 and r['step_ms'] > 0
    out = capsys.readouterr().out
    assert '| model | crops per image | images/s |' in out
    assert out.count('\n| ') == 5  # header + 4 rows


def test_step_time_reports_ratios_flops_and_fixed_cost(capsys):
    step_time = _load('step_time')
    res = step_time.main([
        '--scale', 'tiny', '--rounds', '2', '--iters', '1', '--warmup', '0',
        '--no-memory', '--breakdown'
    ])
    for name in ('mgc', 'mugs'):
        r = res[name]
        assert len(r['rounds']) == 2
        assert r['ratio_min'] <= r['ratio'] <= r['ratio_max']
        assert r['method_gflops'] > 0 and r['mocov3_gflops'] > 0
        assert r['time_per_flop'] == pytest.approx(r['ratio'] /
                                                   r['flop_ratio'])
        for which in ('method', 'mocov3'):
            br = r[f'{which}_breakdown_ms']
            assert br['fixed'] == pytest.approx(br['ema'] + br['optimizer'] +
                                                br['zero_grad'] + br['queues'])
            assert br['ema'] > 0 and br['optimizer'] > 0
            assert br['backward'] > 0 and br['forward'] > 0
    # Mugs does arithmetic MoCo v3 does not (aggregator, three heads,
    # queues of negatives), on the same crops
    assert res['mugs']['flop_ratio'] > 1
    assert res['mugs']['method_breakdown_ms']['queues'] > 0
    assert res['mgc']['method_breakdown_ms']['pairs'] > 0
    assert res['mugs']['method_breakdown_ms']['neighbours'] > 0
    out = capsys.readouterr().out
    assert 'FLOP ratio' in out and 'time / FLOP' in out


def test_bench_mugs_variants_set_crops_queues_and_depth():
    """The Mugs options of step_time.py: local crops, queue and buffer
    lengths, aggregator depth, and filled (steady-state) buffers."""
    from mmmgc.benchmarks import Bench
    bench = Bench(
        'mugs', 'tiny', num_local=1, queue_length=8, aggregator_depth=1)
    model = bench.models['method']
    assert bench.num_crops == 2 + 2 + 1  # teacher, student, local
    assert model.instance_head.queue.length == 8
    assert model.local_group_head.queue.length == 8
    assert model.teacher_buffer.length == 8
    assert len(model.neck.layers) == 1
    assert int(model.instance_head.queue.num_filled) == 8  # filled
    bench.step['method']()
    bench.step['mocov3']()
