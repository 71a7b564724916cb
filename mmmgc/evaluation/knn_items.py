"""kNN top-1 of a pretraining config's backbone on labelled single-item
Fashion-MNIST images (the evaluation of the demo, ``tools/analysis/knn.py
items``)."""
from typing import Callable, Optional

import torch

from .demo_data import eval_dataset_of, labelled_items
from .frozen_backbone import (build_frozen_backbone, load_pretrained_backbone,
                              norm_stats)
from .knn import extract_features, knn_top1


def auto_feature(cfg) -> str:
    """``'avg'`` (mean patch token) for MGC, whose class token is not
    trained, ``'cls'`` otherwise."""
    return 'avg' if cfg.model.get('type', '') == 'MGC' else 'cls'


def knn_on_items(cfg,
                 checkpoint: Optional[str] = None,
                 feature: str = 'auto',
                 num_train: int = 5000,
                 num_test: int = 2000,
                 img_size: Optional[int] = None,
                 k: int = 20,
                 temperature: float = 0.07,
                 seed: int = 0,
                 compare_random: bool = False,
                 log: Callable[[str], None] = print) -> dict:
    """kNN top-1 (percent) of the frozen backbone of ``cfg``.

    The backbone is built from ``cfg.model.backbone`` (returning raw
    tokens) and, when ``checkpoint`` is given, loaded STRICTLY from its
    ``backbone.*`` keys (:func:`load_pretrained_backbone`). The bank is
    ``num_train`` items of Fashion-MNIST train (item seed ``seed + 1``),
    the queries ``num_test`` items of Fashion-MNIST test (seed
    ``seed + 2``), made as the config's pretraining data set makes items
    (:func:`~mmmgc.evaluation.demo_data.eval_dataset_of`), at the
    backbone's ``img_size`` (or ``img_size``), normalised as the config's
    data preprocessor does.

    Args:
        cfg (Config): A pretraining config.
        checkpoint (str, optional): Its checkpoint. Without one, only the
            random initialisation is evaluated.
        feature (str): ``'auto'`` (:func:`auto_feature`), ``'cls'``,
            ``'avg'`` or ``'cls+avg'``. Defaults to ``'auto'``.
        num_train (int): Bank size. Defaults to 5000.
        num_test (int): Query count. Defaults to 2000.
        img_size (int, optional): Defaults to the backbone's ``img_size``
            (64 when unset).
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote weight ``exp(sim / T)``. Defaults to
            0.07.
        seed (int): Seed of the backbone initialisation and the items.
            Defaults to 0.
        compare_random (bool): Also evaluate the backbone at its random
            initialisation (same seed), the baseline the learned features
            must beat. Defaults to False.
        log (callable): Receives one line per evaluated backbone. Defaults
            to ``print``.

    Returns:
        dict: ``random_init`` and/or ``pretrained`` top-1 (rounded to 0.01),
        and the ``feature``, ``k`` and ``t`` used.
    """
    if feature == 'auto':
        feature = auto_feature(cfg)
    mean, std = norm_stats(cfg)
    size = img_size or cfg.model.backbone.get('img_size', 64)

    torch.manual_seed(seed)
    dataset = eval_dataset_of(cfg)
    xtr, ytr = labelled_items('train', num_train, size, seed + 1, mean, std,
                              dataset)
    xte, yte = labelled_items('test', num_test, size, seed + 2, mean, std,
                              dataset)
    results = {}
    runs = []
    if compare_random or checkpoint is None:
        runs.append(('random_init', None))
    if checkpoint is not None:
        runs.append(('pretrained', checkpoint))
    for name, ckpt in runs:
        torch.manual_seed(seed)
        backbone = build_frozen_backbone(cfg.model)
        if ckpt is not None:
            n = load_pretrained_backbone(backbone, ckpt)
            log(f'loaded {n} backbone tensors from {ckpt} (strict)')
        ftr = extract_features(backbone, xtr, feature)
        fte = extract_features(backbone, xte, feature)
        acc = knn_top1(
            ftr, ytr, fte, yte, num_classes=10, k=k, temperature=temperature)
        results[name] = round(acc, 2)
        log(f'kNN top-1 ({name}, feature={feature}, k={k}, '
            f'T={temperature}, {num_train} train / {num_test} test '
            f'Fashion-MNIST items at {size} px): {acc:.2f} %')
    return dict(results, feature=feature, k=k, t=temperature)


__all__ = ['auto_feature', 'knn_on_items']
