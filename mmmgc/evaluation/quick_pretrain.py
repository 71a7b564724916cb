"""A short in-process pretraining of a config, then kNN top-1 of the student
backbone next to its random initialisation (``tools/analysis/knn.py
quick-pretrain``): a probe for recipe changes, not a benchmark.

It is NOT the Runner's training: the model, dataset and optimiser wrapper
come from the config, but its hooks, weight-decay schedule and
``param_scheduler`` are not used; the learning rate follows a linear
warm-up over the first 10 % of the iterations and a cosine decay to 0.
Train ``tools/train.py`` and evaluate with ``tools/analysis/knn.py items``
for a run that follows the config.
"""
import time
from typing import Callable

import numpy as np
import torch

from .demo_data import labelled_items
from .frozen_backbone import norm_stats
from .knn import extract_features, knn_top1


def quick_pretrain_knn(cfg,
                       iters: int = 480,
                       batch: int = 64,
                       samples: int = 2048,
                       lr: float = 1e-3,
                       seed: int = 0,
                       eval_every: int = 0,
                       tag: str = '',
                       log: Callable[[str], None] = print) -> dict:
    """Pretrain ``cfg``'s model for ``iters`` steps and report kNN top-1.

    kNN: k=20, T=0.07, class token, on 2,000 / 1,000 labelled Fashion-MNIST
    items (train item seed 1, test item seed 2). Every 20 iterations
    ``log`` gets the iteration, the seconds so far, the mean losses of the
    last 20 iterations and, for Mugs, ``qmean`` (the norm of the mean
    instance-queue row: 1 = every target identical, about 0 = spread out);
    every ``eval_every`` iterations also the kNN top-1.

    Args:
        cfg (Config): A pretraining config (``--cfg-options`` merged).
        iters (int): Training iterations. Defaults to 480.
        batch (int): Images per iteration. Defaults to 64.
        samples (int): ``train_dataloader.dataset.num_samples``. Defaults
            to 2048.
        lr (float): Peak learning rate (replaces the optimiser's ``lr``;
            parameter groups keep their ratios). Defaults to 1e-3.
        seed (int): Seed of torch, numpy and the data order. Defaults to 0.
        eval_every (int): kNN every this many iterations (0: only at the
            start and the end). Defaults to 0.
        tag (str): Copied into the result. Defaults to ''.
        log (callable): Receives the progress lines. Defaults to ``print``.

    Returns:
        dict: ``tag``, ``random`` and ``learned`` top-1 (percent, rounded
        to 0.01), ``final_losses`` (means of the last 20 iterations) and
        ``secs``.
    """
    from mmengine.dataset import default_collate
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS

    from ..models.utils import cosine_decay
    cfg.train_dataloader.dataset.num_samples = samples
    torch.manual_seed(seed)
    np.random.seed(seed)
    hub = MessageHub.get_instance('quick_pretrain_knn')
    hub.update_info('max_iters', iters)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        model = MODELS.build(cfg.model)
        model.init_weights()
        ow = build_optim_wrapper(
            model,
            dict(
                cfg.optim_wrapper,
                optimizer=dict(cfg.optim_wrapper.optimizer, lr=lr)))
    base_lrs = [g['lr'] for g in ow.optimizer.param_groups]
    size = cfg.model.backbone.img_size
    mean, std = norm_stats(cfg)
    xtr, ytr = labelled_items('train', 2000, size, 1, mean, std)
    xte, yte = labelled_items('test', 1000, size, 2, mean, std)

    def knn() -> float:
        ftr = extract_features(model.backbone, xtr, 'cls')
        fte = extract_features(model.backbone, xte, 'cls')
        acc = knn_top1(ftr, ytr, fte, yte, 10, 20, 0.07)
        model.train()
        return acc

    def window_mean(hist: list) -> dict:
        """Mean of each logged loss over the last 20 iterations."""
        return {
            k: round(float(np.mean([h[k] for h in hist[-20:]])), 3)
            for k in hist[-1]
        }

    res = dict(tag=tag, random=round(knn(), 2))
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=1,
        collate_fn=default_collate,
        persistent_workers=True,
        generator=torch.Generator().manual_seed(seed))
    warmup = max(1, iters // 10)
    it, t0, hist = 0, time.time(), []
    model.train()
    while it < iters:
        for data in loader:
            if it >= iters:
                break
            hub.update_info('iter', it)
            if it < warmup:
                step_lr = lr * (it + 1) / warmup
            else:
                step_lr = cosine_decay(
                    it - warmup, iters - warmup, base=lr, end=0.0)
            for g, b in zip(ow.optimizer.param_groups, base_lrs):
                g['lr'] = b * step_lr / lr
            losses = model.train_step(data, ow)
            hist.append({k: float(v.detach()) for k, v in losses.items()})
            it += 1
            if it % 20 == 0:
                extra = ''
                if hasattr(model, 'instance_head'):
                    q = model.instance_head.queue.queue
                    extra = f' qmean={q.mean(0).norm():.3f}'
                if eval_every and it % eval_every == 0:
                    extra += f' knn={knn():.2f}'
                log(f'{it} {round(time.time() - t0)} {window_mean(hist)} '
                    f'{extra}')
    res['learned'] = round(knn(), 2)
    res['final_losses'] = window_mean(hist)
    res['secs'] = round(time.time() - t0)
    return res


__all__ = ['quick_pretrain_knn']
