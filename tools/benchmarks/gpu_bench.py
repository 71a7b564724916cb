"""Images per second and peak memory of MoCo v3, MGC and Mugs at ViT-S/16 on
one GPU (run by ``tools/benchmarks/gpu_bench.sh``).

    python tools/benchmarks/gpu_bench.py [--batch-size 64] [--steps 20]
        [--warmup 5] [--no-amp] [--optimizer fused] [--device cuda]
    python tools/benchmarks/gpu_bench.py --device cpu --tiny   # smoke test

Each model is built as in ``step_time.py --scale vits``
(:class:`mmmgc.benchmarks.Bench`: the paper configs, 224 px crops from the
configs' own pipelines; MoCo v3 with the same ViT-S/16 and its ViT heads),
with mixed precision as
``tools/train.py --amp`` sets it (fp16 + dynamic loss scaling on a GPU,
bf16 autocast on the CPU). MoCo v3 is measured twice: on two views (MGC's
baseline) and on Mugs' 2 + 2 global and 10 local crops (Mugs' baseline).
After ``--warmup`` steps, ``--steps`` timed steps (wall clock, CUDA
synchronised) give the images per second; the peak memory is
``torch.cuda.max_memory_allocated`` over the timed steps (on the CPU, the
peak resident set size above the start). ``--tiny`` builds the demo
recipes (tiny ViT, 64 px) with a batch of 2 and 2 local crops instead:
the same code path, in seconds.
"""
import argparse
import gc
import statistics
import time
from typing import Dict, List

import torch

from mmmgc.benchmarks import OPTIMIZER_IMPLS, Bench, now
from mmmgc.utils import PeakMemory


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='images per GPU; default 64 (--tiny: 2)')
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--no-amp', action='store_true')
    p.add_argument('--optimizer', default='fused', choices=OPTIMIZER_IMPLS)
    p.add_argument(
        '--methods',
        nargs='*',
        default=['mgc', 'mugs'],
        choices=['mgc', 'mugs'])
    p.add_argument(
        '--tiny',
        action='store_true',
        help='demo-size models (the CPU smoke test)')
    p.add_argument('--device', default='cuda')
    return p.parse_args(argv)


def measure(bench: Bench, which: str, steps: int,
            warmup: int) -> Dict[str, float]:
    """Images per second and peak memory (MiB) of ``steps`` train steps."""
    for _ in range(warmup):
        bench.step[which]()
    times: List[float] = []
    with PeakMemory(str(bench.device)) as meter:
        for _ in range(steps):
            times.append(bench.timed(which, time.perf_counter))
    total = sum(times)
    peak = meter.peak_mib
    if bench.device.type == 'cuda':  # the whole allocation, not the rise
        peak = torch.cuda.max_memory_allocated(bench.device) / 2**20
    return dict(
        img_s=bench.batch_size * steps / total,
        step_ms=1e3 * statistics.median(times),
        peak_mib=peak)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('gpu_bench: no CUDA device (use --device cpu '
                         '--tiny for the smoke test)')
    scale = 'tiny' if args.tiny else 'vits'
    batch = args.batch_size or (2 if args.tiny else 64)
    amp = not args.no_amp
    if args.device.startswith('cuda'):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        name = torch.cuda.get_device_name(torch.device(args.device))
    else:
        name = 'CPU'
    rows = []
    for method in args.methods:
        bench = Bench(
            method, scale, batch, args.device, args.optimizer, amp=amp)
        base = 'MoCo v3, 2 views' if method == 'mgc' else \
            f'MoCo v3, Mugs\' {bench.num_crops - 2} crops'
        for which, label in (('mocov3', base), ('method',
                                                dict(mgc='MGC',
                                                     mugs='Mugs')[method])):
            r = measure(bench, which, args.steps, args.warmup)
            r.update(
                model=label,
                crops=bench.num_crops if (method == 'mugs') else 2)
            rows.append(r)
        del bench
        gc.collect()
        if args.device.startswith('cuda'):
            torch.cuda.empty_cache()
    print(f'{now()}  {name}; {scale}; batch {batch} per device; '
          f'{"AMP" if amp else "fp32"}; AdamW {args.optimizer}; '
          f'{args.steps} timed steps after {args.warmup}')
    print('| model | crops per image | images/s | step (ms, median) '
          '| peak memory (MiB) |')
    print('|---|---|---|---|---|')
    for r in rows:
        print(f'| {r["model"]} | {r["crops"]} | {r["img_s"]:.1f} | '
              f'{r["step_ms"]:.1f} | {r["peak_mib"]:.0f} |')
    return rows


if __name__ == '__main__':
    main()
