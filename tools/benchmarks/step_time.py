"""MGC train-step time against mmpretrain's MoCo v3 (a benchmark, not a test).

    python tools/benchmarks/step_time.py [--mgc configs/mgc/mgc_demo.py]
        [--mocov3 configs/mocov3/mocov3_vit-tiny-p8_demo.py]
        [--iters 20] [--warmup 3] [--threads 1] [--device cpu|cuda]
        [--clock auto|cpu|wall]

Both models come from their configs (the same tiny ViT, batch and
optimiser); one batch of real pipeline output is made for each, and then
their ``train_step`` calls (data preprocessor, forward, backward, optimiser
step, EMA update) alternate, so that load from other processes hits both
alike. Prints the median step times, their ratio (goal <= 1.10) and the
share of the MGC step spent in correspondence targets, query sampling, key
selection and target gathering (``MGC.compute_pairs``; goal <= 2 %).
Then, for MGC, MoCo v3 and Mugs (each with its demo recipe), the peak
memory of their first two steps (each in a fresh process), and
``correspondence_targets`` timed against a per-cell Python reference on the
same boxes (``step_time_extras.py``).

On a CPU shared with other jobs, wall-clock times swing with their load;
the default clock there is the process CPU time (``time.process_time``)
with one thread, which only counts this process's own work. On a GPU the
clock is the wall clock with ``torch.cuda.synchronize()`` around each step.
"""
import argparse
import copy
import statistics
import time

import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--mgc', default='configs/mgc/mgc_demo.py')
    p.add_argument('--mocov3',
                   default='configs/mocov3/mocov3_vit-tiny-p8_demo.py')
    p.add_argument('--mugs', default='configs/mugs/mugs_demo.py',
                   help="Mugs section (tools/benchmarks/mugs_step_time.py); "
                   "'' skips it")
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--clock', default='auto', choices=['auto', 'cpu', 'wall'],
                   help="auto: 'cpu' on the CPU, 'wall' on a GPU")
    p.add_argument('--batch-size', type=int, default=None,
                   help='defaults to each config\'s train batch size')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    return p.parse_args()


def build(cfg_path, batch_size, device):
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS

    cfg = Config.fromfile(cfg_path)
    DefaultScope.get_instance(f'bench-{time.time()}',
                              scope_name=cfg.get('default_scope',
                                                 'mmpretrain'))
    bs = batch_size or cfg.train_dataloader.batch_size
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([ds[i] for i in range(bs)])
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    ow = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, ow, batch


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    import mmmgc  # noqa: F401
    from mmengine.logging import MMLogger
    from mmmgc.models.selfsup import MGC
    from mmengine.logging import MessageHub
    MMLogger.get_instance('mmengine', log_level='ERROR')
    # both EMA schedules read these (outside a Runner nobody fills them in)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 1000)
    device = torch.device(args.device)
    clock_name = args.clock
    if clock_name == 'auto':
        clock_name = 'wall' if device.type == 'cuda' else 'cpu'
    clock = time.perf_counter if clock_name == 'wall' else time.process_time

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    pair_time = [0.0]
    original = MGC.compute_pairs

    def timed_pairs(self, *a, **k):
        sync()
        t0 = clock()
        out = original(self, *a, **k)
        sync()
        pair_time[0] += clock() - t0
        return out

    MGC.compute_pairs = timed_pairs
    torch.manual_seed(0)
    mgc, mgc_ow, mgc_batch = build(args.mgc, args.batch_size, device)
    moco, moco_ow, moco_batch = build(args.mocov3, args.batch_size, device)

    def step(model, ow, batch):
        b = copy.copy(batch)
        sync()
        t0 = clock()
        model.train_step(b, ow)
        sync()
        return clock() - t0

    t_mgc, t_moco, t_pairs = [], [], []
    for i in range(args.warmup + args.iters):
        pair_time[0] = 0.0
        a = step(mgc, mgc_ow, mgc_batch)
        p = pair_time[0]
        b = step(moco, moco_ow, moco_batch)
        if i >= args.warmup:
            t_mgc.append(a)
            t_pairs.append(p)
            t_moco.append(b)
    med_mgc = statistics.median(t_mgc)
    med_moco = statistics.median(t_moco)
    share = sum(t_pairs) / sum(t_mgc)
    bs = len(mgc_batch['data_samples'])
    print(f'device={device.type} threads={args.threads} batch={bs} '
          f'iters={args.iters} clock={clock_name}')
    print(f'MGC     step: median {med_mgc * 1e3:8.1f} ms  ({args.mgc})')
    print(f'MoCo v3 step: median {med_moco * 1e3:8.1f} ms  ({args.mocov3})')
    print(f'ratio MGC / MoCo v3 = {med_mgc / med_moco:.3f}  (goal <= 1.10)')
    print(f'share of MGC step in targets + sampling = {100 * share:.2f} % '
          f'({1e3 * statistics.median(t_pairs):.2f} ms/step; goal <= 2 %)')
    # issue 7: peak memory of one step per method (each with its demo
    # recipe, same tiny ViT and batch), and correspondence_targets against a
    # per-cell Python reference (tools/benchmarks/step_time_extras.py)
    from step_time_extras import (compare_targets, print_targets_report,
                                  step_memory_subprocess)
    runs = dict(MGC=args.mgc, MoCov3=args.mocov3)
    if args.mugs:
        runs['Mugs'] = args.mugs
    for name, cfg_path in runs.items():  # each in a fresh process
        m = step_memory_subprocess(cfg_path, args.batch_size,
                                   device=args.device, threads=args.threads)
        print(f'{name:7s} peak memory of the first 2 steps: '
              f'+{m["peak_mib"]:7.1f} MiB above model + batch '
              f'({m["method"]}; batch {m["batch"]}; {cfg_path})')
    print_targets_report(compare_targets(bs, iters=args.iters), bs)
    if args.mugs:  # Mugs vs multi-crop MoCo v3 on the same 2 + 10 crops
        from mugs_step_time import mugs_step_time, print_report
        print_report(
            mugs_step_time(args.mugs, args.mocov3, iters=args.iters,
                           warmup=args.warmup, device=args.device),
            args.mugs)


if __name__ == '__main__':
    main()
