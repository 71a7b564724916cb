"""Train-step time of MGC and Mugs against mmpretrain's MoCo v3 on the same
backbone, crops and batch, next to their ratio of arithmetic (a benchmark,
not a test).

    python tools/benchmarks/step_time.py [--scale demo|vits|tiny]
        [--methods mgc mugs] [--batch-size N] [--rounds 3] [--iters 5]
        [--warmup 1] [--optimizer config|loop|foreach|fused]
        [--num-local L] [--queue-length N] [--aggregator-depth D]
        [--empty-buffers] [--breakdown] [--profile] [--no-memory]
        [--no-flops] [--threads 1] [--device cpu|cuda]
        [--clock auto|cpu|wall] [--json FILE]

For each method (models, batches and baselines:
:mod:`mmmgc.benchmarks.step_bench`):

- **time ratio**: median step time of the method / of MoCo v3. The two
  ``train_step`` calls alternate, so that load from other processes hits
  both alike; ``--rounds`` independent rounds of ``--iters`` steps each
  give one ratio each; the report gives their median and spread (min-max).
- **FLOP ratio**: FLOPs of one train step of each (forward, backward and
  optimiser), counted by ``torch.utils.flop_counter.FlopCounterMode``.
  This is the floor a perfect implementation would reach.
- **time / FLOP** = time ratio / FLOP ratio (1.0: the method costs exactly
  its arithmetic, relative to MoCo v3).
- images per second and the peak memory of the first two train steps per
  process (each model in a fresh process; :class:`mmmgc.utils.PeakMemory`).

``--breakdown`` times the step's fixed cost, the work outside the forward
and backward passes (EMA, optimiser step with clipping, zero_grad, queue
and centre updates), for the method and for MoCo v3, and the parts of the
forward pass in MGC's pair sampling and Mugs' neighbour search (with its
share of the step); ``--profile`` prints ``torch.profiler``'s most
expensive operators of one method step. Mugs variants: ``--num-local``
local crops per image (default: 10 at the demo and ViT-S scales),
``--queue-length`` for both queues and the neighbour buffer,
``--aggregator-depth`` (2 in the paper, 1 in the released code), and
``--empty-buffers`` to time the fresh, empty buffers of a run's first
steps instead of the steady state.

On a CPU shared with other jobs the default clock is the process CPU time
(``time.process_time``) with one thread, which only counts this process's
own work; on a GPU it is the wall clock with ``torch.cuda.synchronize()``
around each step. ``--optimizer`` sets AdamW's implementation alike for
the method and MoCo v3 (``config``: as each config says).
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch

from mmmgc.benchmarks import (OPTIMIZER_IMPLS, SCALES, Bench,
                              fixed_cost_breakdown, now)
from mmmgc.benchmarks.step_bench import REPO


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--scale', default='demo', choices=sorted(SCALES))
    p.add_argument(
        '--methods',
        nargs='*',
        default=['mgc', 'mugs'],
        choices=['mgc', 'mugs'])
    p.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='default: the config\'s (demo), 4 (vits)')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument(
        '--iters',
        type=int,
        default=5,
        help='timed steps of each model per round')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument(
        '--optimizer',
        default='fused',
        choices=OPTIMIZER_IMPLS,
        help='AdamW implementation, alike for both models')
    p.add_argument(
        '--aggregator-depth',
        type=int,
        default=None,
        help='Mugs: default the config\'s (2, the paper)')
    p.add_argument(
        '--num-local',
        type=int,
        default=None,
        help='Mugs: local crops per image (default: the '
        'scale\'s, 10 at demo and vits)')
    p.add_argument(
        '--queue-length',
        type=int,
        default=None,
        help='Mugs: length of both queues and the neighbour '
        'buffer (default: the config\'s)')
    p.add_argument(
        '--empty-buffers',
        action='store_true',
        help='Mugs: time with the fresh, empty neighbour buffers '
        '(default: filled, as in the steady state of a run)')
    p.add_argument('--breakdown', action='store_true')
    p.add_argument('--profile', action='store_true')
    p.add_argument('--no-memory', action='store_true')
    p.add_argument('--no-flops', action='store_true')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument(
        '--clock',
        default='auto',
        choices=['auto', 'cpu', 'wall'],
        help="auto: 'cpu' on the CPU, 'wall' on a GPU")
    p.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--memory-of', default=None, help=argparse.SUPPRESS)
    p.add_argument(
        '--json',
        default=None,
        help='also write the results to this JSON file')
    return p.parse_args(argv)


def memory_subprocess(args, method: str, which: str) -> dict:
    """Peak memory of the first 2 train steps of one model, in a fresh
    process with ``MALLOC_MMAP_THRESHOLD_`` fixed: glibc otherwise keeps
    freed tensor memory in its heap, and a second measurement in the same
    process would see none of it."""
    env = dict(
        os.environ,
        MALLOC_MMAP_THRESHOLD_='65536',
        OMP_NUM_THREADS=str(args.threads),
        PYTHONPATH=os.pathsep.join([REPO,
                                    os.environ.get('PYTHONPATH', '')]))
    cmd = [
        sys.executable,
        osp.abspath(__file__), '--memory-of', f'{method}:{which}', '--scale',
        args.scale, '--device', args.device, '--optimizer', args.optimizer,
        '--threads',
        str(args.threads)
    ]
    if args.empty_buffers:
        cmd.append('--empty-buffers')
    if args.batch_size:
        cmd += ['--batch-size', str(args.batch_size)]
    for flag in ('aggregator_depth', 'num_local', 'queue_length'):
        if getattr(args, flag) is not None:
            cmd += ['--' + flag.replace('_', '-'), str(getattr(args, flag))]
    out = subprocess.run(
        cmd, env=env, cwd=REPO, capture_output=True, text=True)
    lines = [x for x in out.stdout.splitlines() if x.startswith('{')]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f'memory of {method}:{which} failed:\n'
                           f'{out.stderr[-2000:]}')
    return json.loads(lines[-1])


def build_bench(args, method: str) -> Bench:
    return Bench(
        method,
        args.scale,
        args.batch_size,
        args.device,
        args.optimizer,
        aggregator_depth=args.aggregator_depth,
        fill_buffers=not args.empty_buffers,
        num_local=args.num_local,
        queue_length=args.queue_length)


def memory_of(args) -> None:
    from mmmgc.utils import PeakMemory
    method, which = args.memory_of.split(':')
    bench = build_bench(args, method)
    other = 'mocov3' if which == 'method' else 'method'
    del bench.models[other], bench.wrappers[other], bench.step[other]
    with PeakMemory(args.device) as meter:
        for _ in range(2):
            bench.step[which]()
    print(json.dumps(dict(peak_mib=meter.peak_mib, method=meter.method)))


def time_rounds(bench: Bench, args, clock):
    """Per round: median step times of both models (alternating) and their
    ratio."""
    for _ in range(args.warmup):
        bench.timed('method', clock)
        bench.timed('mocov3', clock)
    rounds = []
    for _ in range(args.rounds):
        t_m, t_b = [], []
        for _ in range(args.iters):
            t_m.append(bench.timed('method', clock))
            t_b.append(bench.timed('mocov3', clock))
        m, b = statistics.median(t_m), statistics.median(t_b)
        rounds.append(dict(method_s=m, mocov3_s=b, ratio=m / b))
    return rounds


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_of:
        memory_of(args)
        return
    clock_name = args.clock
    if clock_name == 'auto':
        clock_name = 'wall' if args.device.startswith('cuda') else 'cpu'
    clock = time.perf_counter if clock_name == 'wall' else time.process_time
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    print(f'{now()}  device={args.device} threads={args.threads} '
          f'scale={args.scale} clock={clock_name} optimizer={args.optimizer}'
          f' rounds={args.rounds} iters={args.iters}' +
          (f'  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}'
           if load else ''))
    results = {}
    for name in args.methods:
        bench = build_bench(args, name)
        label = dict(mgc='MGC', mugs='Mugs')[name]
        base = 'two-view MoCo v3' if name == 'mgc' else \
            'multi-crop MoCo v3 (same crops)'
        print(f'\n== {label} vs {base}: {bench.config}, batch '
              f'{bench.batch_size}, {bench.num_crops} crops per image')
        res = dict(
            batch=bench.batch_size, crops=bench.num_crops, config=bench.config)
        if not args.no_flops:
            f_m, f_b = bench.flops('method'), bench.flops('mocov3')
            res.update(
                method_gflops=f_m / 1e9,
                mocov3_gflops=f_b / 1e9,
                flop_ratio=f_m / f_b)
        rounds = time_rounds(bench, args, clock)
        ratios = [r['ratio'] for r in rounds]
        t_m = statistics.median(r['method_s'] for r in rounds)
        t_b = statistics.median(r['mocov3_s'] for r in rounds)
        res.update(
            rounds=rounds,
            ratio=statistics.median(ratios),
            ratio_min=min(ratios),
            ratio_max=max(ratios),
            method_ms=1e3 * t_m,
            mocov3_ms=1e3 * t_b,
            method_img_s=bench.batch_size / t_m,
            mocov3_img_s=bench.batch_size / t_b)
        if 'flop_ratio' in res:
            res['time_per_flop'] = res['ratio'] / res['flop_ratio']
        print(f'{label:4s} step: median {res["method_ms"]:9.1f} ms  '
              f'({res["method_img_s"]:.2f} img/s)')
        print(f'MoCo v3 step: median {res["mocov3_ms"]:9.1f} ms  '
              f'({res["mocov3_img_s"]:.2f} img/s)')
        print(f'time ratio {res["ratio"]:.3f} (rounds: ' +
              ', '.join(f'{r:.3f}' for r in ratios) +
              f'; spread {res["ratio_min"]:.3f}-{res["ratio_max"]:.3f})')
        if 'flop_ratio' in res:
            print(f'FLOP ratio {res["flop_ratio"]:.3f} ('
                  f'{res["method_gflops"]:.1f} / {res["mocov3_gflops"]:.1f}'
                  f' GFLOP per step); time / FLOP {res["time_per_flop"]:.3f}'
                  f' (spread {res["ratio_min"] / res["flop_ratio"]:.3f}-'
                  f'{res["ratio_max"] / res["flop_ratio"]:.3f})')
        if args.breakdown:
            for which in ('method', 'mocov3'):
                br = fixed_cost_breakdown(bench, which, max(args.iters, 1),
                                          clock)
                res[f'{which}_breakdown_ms'] = {
                    k: 1e3 * v
                    for k, v in br.items()
                }
                who = label if which == 'method' else 'MoCo v3'
                print(f'{who:7s} step {1e3 * br["total"]:8.1f} ms = forward '
                      f'{1e3 * br["forward"]:8.1f} + backward '
                      f'{1e3 * br["backward"]:8.1f} + fixed '
                      f'{1e3 * br["fixed"]:7.1f} (EMA {1e3 * br["ema"]:.1f}'
                      f', optimiser {1e3 * br["optimizer"]:.1f}, zero_grad '
                      f'{1e3 * br["zero_grad"]:.1f}, queues/centre '
                      f'{1e3 * br["queues"]:.1f}); forward includes pairs '
                      f'{1e3 * br["pairs"]:.1f}, neighbour search '
                      f'{1e3 * br["neighbours"]:.1f} ('
                      f'{100 * br["neighbours"] / br["total"]:.2f} % of the '
                      'step)')
        if args.profile:
            from torch.profiler import ProfilerActivity, profile
            acts = [ProfilerActivity.CPU]
            if args.device.startswith('cuda'):
                acts.append(ProfilerActivity.CUDA)
            with profile(activities=acts) as prof:
                bench.step['method']()
            print(prof.key_averages().table(
                sort_by='self_cpu_time_total', row_limit=25))
        del bench
        if not args.no_memory:
            for which in ('method', 'mocov3'):
                m = memory_subprocess(args, name, which)
                res[f'{which}_peak_mib'] = m['peak_mib']
            print(f'peak memory of the first 2 steps (per process, above '
                  f'model + batch): {label} +{res["method_peak_mib"]:.1f} '
                  f'MiB, MoCo v3 +{res["mocov3_peak_mib"]:.1f} MiB')
        results[name] = res
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(date=now(), load=load, args=vars(args), results=results),
                f,
                indent=1)
    return results


if __name__ == '__main__':
    main()
