"""Semi-supervised logistic regression on frozen features (DINO, iBOT and
Mugs Table 4: 1 % / 10 % of the ImageNet labels; AdamW, batch 1024, weight
decay 0.05, learning rate swept over {0.03, 0.06, 0.1, 0.2}, the best
reported).

The classifier itself is :func:`mmmgc.evaluation.linear_probe.
fit_linear_probe` (multinomial logistic regression on standardised
features, AdamW, cosine lr); this module only runs the sweep.
"""
from typing import Sequence

from torch import Tensor

from .linear_probe import fit_linear_probe, predict


def sweep_logistic_regression(train_feats: Tensor,
                              train_labels: Tensor,
                              test_feats: Tensor,
                              test_labels: Tensor,
                              num_classes: int,
                              lrs: Sequence[float] = (0.03, 0.06, 0.1, 0.2),
                              weight_decay: float = 0.05,
                              epochs: int = 100,
                              batch_size: int = 1024,
                              seed: int = 0) -> dict:
    """Fit one logistic regression per learning rate; report all top-1s
    (percent) and the best.

    Args:
        train_feats (Tensor): ``(N, D)`` features of the labelled subset.
        train_labels (Tensor): ``(N,)`` labels.
        test_feats (Tensor): ``(M, D)`` validation features.
        test_labels (Tensor): ``(M,)`` labels.
        num_classes (int): Number of classes.
        lrs (Sequence[float]): Learning rates to try. Defaults to
            ``(0.03, 0.06, 0.1, 0.2)``.
        weight_decay (float): AdamW weight decay. Defaults to 0.05.
        epochs (int): Passes over the subset. Defaults to 100.
        batch_size (int): Defaults to 1024.
        seed (int): Defaults to 0.

    Returns:
        dict: ``top1_per_lr`` ``{lr: top1}``, ``best_lr`` and ``top1``.
    """
    if not lrs:
        raise ValueError('sweep_logistic_regression: no learning rates')
    per_lr = {}
    for lr in lrs:
        clf = fit_linear_probe(
            train_feats,
            train_labels,
            num_classes,
            epochs=epochs,
            lr=float(lr),
            weight_decay=weight_decay,
            batch_size=batch_size,
            seed=seed)
        pred = predict(clf, test_feats).argmax(1)
        per_lr[float(lr)] = (pred == test_labels).float().mean().item() * 100
    best = max(per_lr, key=per_lr.get)
    return dict(top1_per_lr=per_lr, best_lr=best, top1=per_lr[best])


__all__ = ['sweep_logistic_regression']
