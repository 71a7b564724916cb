"""Mugs train-step time against MoCo v3 on the same crops (a benchmark, not
a test), and the share of the Mugs step spent on the neighbour search.

    python tools/benchmarks/mugs_step_time.py
        [--mugs configs/mugs/mugs_demo.py]
        [--mocov3 configs/mocov3/mocov3_vit-tiny-p8_demo.py]
        [--num-local 10] [--queue-length N] [--aggregator-depth D]
        [--iters 20] [--warmup 3]
        [--threads 2] [--device cpu|cuda]

One batch of real Mugs pipeline output (2 teacher global crops, 2 student
global crops and ``--num-local`` local crops of the demo config) feeds both
models. mmpretrain's MoCo v3 only takes two views, so its step here is the
multi-crop MoCo v3 on the SAME crops: the base encoder on the 2 + L student
crops, the momentum encoder on the 2 teacher crops, MoCo v3's InfoNCE for
every (teacher crop, other student crop) pair, averaged; the backbone (a
tiny ViT from the MoCo v3 demo config), optimiser and batch are the same.
The two ``train_step`` calls alternate so that load from other processes
hits both alike. ``tools/benchmarks/step_time.py`` (through
``bench_models.py``) uses :func:`mocov3_multicrop_loss` for its Mugs rows,
at the demo and the ViT-S/16 scale, with FLOP ratios; this script remains
for its ``--queue-length`` and ``--aggregator-depth`` variants of the demo.
"""
import argparse
import copy
import statistics
import time
from typing import Dict, Optional

import torch
import torch.nn as nn


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--mugs', default='configs/mugs/mugs_demo.py')
    p.add_argument('--mocov3',
                   default='configs/mocov3/mocov3_vit-tiny-p8_demo.py')
    p.add_argument('--num-local', type=int, default=10)
    p.add_argument('--queue-length', type=int, default=None,
                   help='queues and neighbour buffer (default: config)')
    p.add_argument('--aggregator-depth', type=int, default=None,
                   help='default: config (2, the paper; 1 = released code)')
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    return p.parse_args()


def mocov3_multicrop_loss(model, inputs, num_global: int = 2):
    """MoCo v3's loss on Mugs' crops: queries from the student crops
    ``inputs[num_global:]``, keys from the teacher crops
    ``inputs[:num_global]``, every (teacher t, student s != t) pair."""
    student = list(inputs[num_global:])
    queries, start = [], 0
    while start < len(student):  # one pass per resolution, as Mugs
        end = start + 1
        while (end < len(student)
               and student[end].shape[-2:] == student[start].shape[-2:]):
            end += 1
        q = model.neck(model.backbone(torch.cat(student[start:end])))[0]
        queries += list(q.chunk(end - start))
        start = end
    with torch.no_grad():
        model.momentum_encoder.update_parameters(
            nn.Sequential(model.backbone, model.neck))
        keys = model.momentum_encoder(torch.cat(
            list(inputs[:num_global])))[0].chunk(num_global)
    losses = [
        model.head.loss(q, keys[t]) for t in range(num_global)
        for s, q in enumerate(queries) if s != t
    ]
    return dict(loss=sum(losses) / len(losses))


def _build(cfg, device, batch_size: Optional[int], dataset_cfg):
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import DATASETS, MODELS
    bs = batch_size or cfg.train_dataloader.batch_size
    ds = DATASETS.build(dataset_cfg)
    batch = default_collate([ds[i] for i in range(bs)])
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), batch


def mugs_step_time(mugs_cfg: str = 'configs/mugs/mugs_demo.py',
                   mocov3_cfg: str = 'configs/mocov3/'
                   'mocov3_vit-tiny-p8_demo.py',
                   num_local: int = 10,
                   queue_length: Optional[int] = None,
                   batch_size: Optional[int] = None,
                   iters: int = 20,
                   warmup: int = 3,
                   device: str = 'cpu',
                   aggregator_depth: Optional[int] = None
                   ) -> Dict[str, float]:
    """Median step times of Mugs and multi-crop MoCo v3 on the same crops,
    their ratio, and the share of the Mugs step in the top-k neighbour
    search (``mugs_topk_neighbours``).

    Returns:
        dict: ``mugs_ms``, ``mocov3_ms``, ``ratio``, ``neighbour_share``,
        ``neighbour_ms``, ``batch``, ``num_crops``, ``aggregator_depth``,
        ``queue_length``.
    """
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope

    import mmmgc  # noqa: F401
    import mmmgc.models.selfsup.mugs as mugs_module
    MMLogger.get_instance('mmengine', log_level='ERROR')
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    hub.update_info('max_iters', 1000)
    dev = torch.device(device)

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    search_time = [0.0]
    original = mugs_module.mugs_topk_neighbours

    def timed_search(*a, **k):
        sync()
        t0 = time.perf_counter()
        out = original(*a, **k)
        sync()
        search_time[0] += time.perf_counter() - t0
        return out

    mugs_module.mugs_topk_neighbours = timed_search
    try:
        cfg = Config.fromfile(mugs_cfg)
        crop = [t for t in cfg.train_dataloader.dataset.pipeline
                if t['type'] == 'MugsMultiCrop'][0]
        crop['num_local_crops'] = num_local
        if queue_length is not None:
            cfg.model.neighbour_buffer_length = queue_length
            cfg.model.instance_head.queue_length = queue_length
            cfg.model.local_group_head.queue_length = queue_length
        if aggregator_depth is not None:
            cfg.model.neck.num_layers = aggregator_depth
        moco_cfg = Config.fromfile(mocov3_cfg)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            mugs, mugs_ow, batch = _build(cfg, dev, batch_size,
                                          cfg.train_dataloader.dataset)
            moco, moco_ow, _ = _build(moco_cfg, dev, 1,
                                      moco_cfg.train_dataloader.dataset)

        def step_mugs():
            b = copy.copy(batch)
            sync()
            t0 = time.perf_counter()
            mugs.train_step(b, mugs_ow)
            sync()
            return time.perf_counter() - t0

        def step_moco():
            sync()
            t0 = time.perf_counter()
            with moco_ow.optim_context(moco):
                data = moco.data_preprocessor(copy.copy(batch), True)
                losses = mocov3_multicrop_loss(moco, data['inputs'])
            loss, _ = moco.parse_losses(losses)
            moco_ow.update_params(loss)
            sync()
            return time.perf_counter() - t0

        t_mugs, t_moco, t_search = [], [], []
        for i in range(warmup + iters):
            search_time[0] = 0.0
            a = step_mugs()
            s = search_time[0]
            b = step_moco()
            if i >= warmup:
                t_mugs.append(a)
                t_moco.append(b)
                t_search.append(s)
    finally:
        mugs_module.mugs_topk_neighbours = original
    med_mugs, med_moco = statistics.median(t_mugs), statistics.median(t_moco)
    return dict(
        mugs_ms=1e3 * med_mugs,
        mocov3_ms=1e3 * med_moco,
        ratio=med_mugs / med_moco,
        neighbour_share=sum(t_search) / sum(t_mugs),
        neighbour_ms=1e3 * statistics.median(t_search),
        batch=len(batch['data_samples']),
        num_crops=len(batch['inputs']) - 2,
        aggregator_depth=cfg.model.neck.num_layers,
        queue_length=cfg.model.neighbour_buffer_length)


def print_report(r: Dict[str, float], mugs_cfg: str) -> None:
    print(f'Mugs    step: median {r["mugs_ms"]:8.1f} ms  ({mugs_cfg}; '
          f'batch {r["batch"]}, {r["num_crops"]} student crops + 2 teacher, '
          f'aggregator depth {r["aggregator_depth"]}, queues '
          f'{r["queue_length"]})')
    print(f'MoCo v3 step: median {r["mocov3_ms"]:8.1f} ms  (multi-crop, '
          'same crops, same tiny ViT)')
    print(f'ratio Mugs / MoCo v3 = {r["ratio"]:.3f}  (goal <= 1.25)')
    print(f'share of Mugs step in the neighbour search = '
          f'{100 * r["neighbour_share"]:.2f} % '
          f'({r["neighbour_ms"]:.2f} ms/step)')


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    r = mugs_step_time(args.mugs, args.mocov3, args.num_local,
                       args.queue_length, args.batch_size, args.iters,
                       args.warmup, args.device, args.aggregator_depth)
    print(f'device={args.device} threads={args.threads} iters={args.iters}')
    print_report(r, args.mugs)


if __name__ == '__main__':
    main()
