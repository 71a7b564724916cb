"""The result of the demo (``tools/run_demo.sh``): kNN and linear-probe
top-1 of a pretraining config's learned backbone next to the same backbone
at random initialisation, with the image-level protocol of the CPU mini
benchmark (``docs/benchmarks.md``, section 1), and one compact table of it.

Protocol (that of ``tools/benchmarks/mini_benchmark.py``): labelled
single-item images made as the config's pretraining data set makes items
(:func:`~mmmgc.evaluation.demo_data.eval_dataset_of`), 5,000 from
Fashion-MNIST train (item seed 1) to fit and 2,000 from Fashion-MNIST test
(seed 2) to test, at the backbone's input size and normalised as the
config's data preprocessor does; weighted kNN (k = 20, T = 0.07, cosine)
and a linear probe (standardised features, AdamW, 100 epochs, lr chosen
among 0.01 / 0.1 / 1.0 on a 20 % validation split, then refitted on all
training items). Each backbone is read out with its method's own feature
(:func:`~mmmgc.evaluation.knn_items.auto_feature`: the mean patch token for
MGC, whose class token is not trained, the class token otherwise); the
random backbone (built after ``torch.manual_seed(seed)``) with the mean
patch token.
"""
import time
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from .demo_data import eval_dataset_of, labelled_items
from .frozen_backbone import (build_frozen_backbone, load_pretrained_backbone,
                              norm_stats)
from .knn import extract_features, knn_top1
from .knn_items import auto_feature
from .linear_probe import PROBE_LRS, linear_probe_top1, select_probe_lr

#: Printed names of the model types.
METHOD_NAMES = {'MGC': 'MGC', 'MoCoV3': 'MoCo v3', 'Mugs': 'Mugs'}
#: The feature of a randomly initialised backbone: its class token has
#: never been trained, the mean patch token is the natural read-out.
RANDOM_INIT_FEATURE = 'avg'


def method_name(cfg) -> str:
    """Printed name of the method of a pretraining config
    (``model.type``)."""
    mtype = str(cfg.model.get('type', '?'))
    return METHOD_NAMES.get(mtype, mtype)


def probe_features(train_feats: Tensor,
                   train_labels: Tensor,
                   test_feats: Tensor,
                   test_labels: Tensor,
                   num_classes: int,
                   k: int = 20,
                   temperature: float = 0.07,
                   probe_epochs: int = 100,
                   lrs: Sequence[float] = PROBE_LRS,
                   seed: int = 0) -> Dict[str, float]:
    """kNN top-1 and linear-probe top-1 (percent) of frozen features.

    Args:
        train_feats (Tensor): ``(N, D)`` features to fit.
        train_labels (Tensor): ``(N,)`` int labels.
        test_feats (Tensor): ``(M, D)`` features to test.
        test_labels (Tensor): ``(M,)`` int labels.
        num_classes (int): Number of classes.
        k (int): kNN neighbours (at most ``N``). Defaults to 20.
        temperature (float): kNN vote weight ``exp(sim / T)``. Defaults to
            0.07.
        probe_epochs (int): Linear-probe epochs. Defaults to 100.
        lrs (Sequence[float]): Candidate probe learning rates, chosen by
            :func:`~mmmgc.evaluation.linear_probe.select_probe_lr`.
        seed (int): Probe seed. Defaults to 0.

    Returns:
        dict: ``knn`` and ``linear`` (rounded to 0.01) and the chosen
        ``linear_lr``.
    """
    knn = knn_top1(
        train_feats,
        train_labels,
        test_feats,
        test_labels,
        num_classes,
        k=min(k, train_feats.shape[0]),
        temperature=temperature)
    lr = select_probe_lr(
        train_feats,
        train_labels,
        num_classes,
        lrs,
        epochs=probe_epochs,
        seed=seed)
    linear = linear_probe_top1(
        train_feats,
        train_labels,
        test_feats,
        test_labels,
        num_classes,
        epochs=probe_epochs,
        lr=lr,
        seed=seed)
    return dict(knn=round(knn, 2), linear=round(linear, 2), linear_lr=lr)


def checkpoint_iterations(checkpoint: str) -> Optional[int]:
    """The training iterations recorded in an mmengine checkpoint
    (``meta.iter``; None when absent), read with the safe loader."""
    from ..checkpoint import load_checkpoint_file
    meta = load_checkpoint_file(checkpoint).get('meta') or {}
    it = meta.get('iter')
    return int(it) if it is not None else None


def demo_report(cfg,
                checkpoint: str,
                num_train: int = 5000,
                num_test: int = 2000,
                k: int = 20,
                temperature: float = 0.07,
                probe_epochs: int = 100,
                lrs: Sequence[float] = PROBE_LRS,
                seed: int = 0,
                picture: Optional[str] = None) -> dict:
    """Evaluate the learned backbone of ``checkpoint`` and the random one
    (module docstring) and, with ``picture``, draw the learned backbone's
    attention picture there
    (:func:`~mmmgc.evaluation.attention_figure.attention_picture`).

    Args:
        cfg (Config): The pretraining config (the one the run used).
        checkpoint (str): Its checkpoint; the backbone loads its
            ``backbone.*`` keys STRICTLY.
        num_train (int): Items to fit. Defaults to 5000.
        num_test (int): Items to test. Defaults to 2000.
        k, temperature, probe_epochs, lrs: See :func:`probe_features`.
        seed (int): Seed of the random backbone and the probes; the items
            use ``seed + 1`` (train) and ``seed + 2`` (test). Defaults to 0.
        picture (str, optional): PNG path of the attention picture.

    Returns:
        dict: JSON-able: ``method``, ``model_type``, ``config``,
        ``checkpoint``, ``iterations``, ``rows`` (one dict per backbone:
        ``backbone``, ``feature``, ``knn``, ``linear``, ``linear_lr``),
        ``protocol``, ``picture`` (path and ``match_accuracy``, or None)
        and ``eval_seconds``.
    """
    t0 = time.perf_counter()
    name = method_name(cfg)
    size = cfg.model.backbone.get('img_size', 64)
    mean, std = norm_stats(cfg)
    dataset = eval_dataset_of(cfg)
    xtr, ytr = labelled_items('train', num_train, size, seed + 1, mean, std,
                              dataset)
    xte, yte = labelled_items('test', num_test, size, seed + 2, mean, std,
                              dataset)
    num_classes = 10
    rows: List[dict] = []
    pic = None
    runs = ((f'{name}, learned', checkpoint, auto_feature(cfg)),
            ('random init', None, RANDOM_INIT_FEATURE))
    for label, ckpt, feature in runs:
        torch.manual_seed(seed)
        backbone = build_frozen_backbone(cfg.model)
        if ckpt is not None:
            load_pretrained_backbone(backbone, ckpt)
        ftr = extract_features(backbone, xtr, feature)
        fte = extract_features(backbone, xte, feature)
        rows.append(
            dict(
                backbone=label,
                feature=feature,
                **probe_features(ftr, ytr, fte, yte, num_classes, k,
                                 temperature, probe_epochs, lrs, seed)))
        if ckpt is not None and picture:
            from .attention_figure import attention_picture
            title = f'{name} demo, learned backbone: attention and matches'
            out, acc = attention_picture(
                backbone, cfg, picture, title, seed=seed, dataset=dataset)
            pic = dict(path=out, match_accuracy=round(acc, 1))
    return dict(
        method=name,
        model_type=cfg.model.get('type'),
        config=cfg.get('filename', None),
        checkpoint=checkpoint,
        iterations=checkpoint_iterations(checkpoint),
        rows=rows,
        protocol=dict(
            data=dataset,
            num_train=len(ytr),
            num_test=len(yte),
            img_size=size,
            num_classes=num_classes,
            k=k,
            t=temperature,
            probe_epochs=probe_epochs,
            probe_lrs=list(lrs),
            seed=seed),
        picture=pic,
        eval_seconds=round(time.perf_counter() - t0, 1))


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return '-'
    return f'{seconds:.0f} s' if seconds < 100 else f'{seconds / 60:.1f} min'


def format_report(report: dict, width: int = 72) -> str:
    """The report as a compact text table (about a dozen lines, at most
    ``width`` columns when the backbone names are short).

    ``report`` is :func:`demo_report`'s dict; an optional ``seconds`` dict
    (``pretraining``, ``evaluation``, ``total``) adds the wall-time line.
    """
    iters = report.get('iterations')
    p = report['protocol']
    head = f"mmmgc demo: {report['method']}"
    if iters is not None:
        head += f', {iters} pretraining iterations'
    cells = [('backbone', 'feature', 'kNN top-1', 'linear top-1', 'probe lr')
             ] + [(r['backbone'], r['feature'], f"{r['knn']:.2f} %",
                   f"{r['linear']:.2f} %", f"{r['linear_lr']:g}")
                  for r in report['rows']]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    table = [
        '  ' +
        '  '.join(f'{c[i]:<{widths[i]}}' if i < 2 else f'{c[i]:>{widths[i]}}'
                  for i in range(5)) for c in cells
    ]
    lrs = ' / '.join(f'{lr:g}' for lr in p['probe_lrs'])
    notes = [
        f"  items: {p['num_train']} train / {p['num_test']} test, "
        f"{p['data']}, {p['img_size']} px",
        f"  kNN: k={p['k']}, T={p['t']:g}, cosine; linear probe: "
        'standardised features,',
        f'    lr from {lrs} on a 20 % validation split',
    ]
    secs = report.get('seconds')
    if secs:
        notes.append('  wall time: pretraining '
                     f"{_duration(secs.get('pretraining'))}, evaluation "
                     f"{_duration(secs.get('evaluation'))}, total "
                     f"{_duration(secs.get('total'))}")
    rule = '=' * min(width, max(len(x) for x in [head] + table + notes))
    return '\n'.join([rule, head, rule] + table + notes + [rule])


__all__ = [
    'METHOD_NAMES', 'RANDOM_INIT_FEATURE', 'method_name', 'probe_features',
    'checkpoint_iterations', 'demo_report', 'format_report'
]
