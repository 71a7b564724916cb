"""A linear probe on frozen features: standardise each feature dimension
with the training statistics, then fit one linear layer with cross-entropy
(hard labels or soft label distributions) and AdamW.

Used at the image level (one feature per image) and at the dense level (one
feature per patch, see :mod:`mmmgc.evaluation.dense_probe`) of the CPU
benchmark.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def feature_stats(feats: Tensor, eps: float = 1e-6) -> Tuple[Tensor, Tensor]:
    """Per-dimension mean and standard deviation of ``(N, D)`` features.

    Args:
        feats (Tensor): ``(N, D)`` features.
        eps (float): Added to the standard deviation so that a constant
            dimension does not divide by zero. Defaults to 1e-6.

    Returns:
        tuple: ``mean`` and ``std``, each ``(D,)`` float32.
    """
    if feats.dim() != 2 or feats.shape[0] < 1:
        raise ValueError('feature_stats: feats must be (N, D) with N >= 1, '
                         f'got {tuple(feats.shape)}')
    x = feats.float()
    return x.mean(0), x.std(0, unbiased=False) + eps


class LinearProbe(nn.Module):
    """``Linear((x - mean) / std)`` with frozen standardisation buffers.

    Args:
        mean (Tensor): ``(D,)`` feature mean (from the training set).
        std (Tensor): ``(D,)`` feature standard deviation.
        num_classes (int): Output classes.
    """

    def __init__(self, mean: Tensor, std: Tensor, num_classes: int) -> None:
        super().__init__()
        self.register_buffer('mean', mean.detach().float().clone())
        self.register_buffer('std', std.detach().float().clone())
        self.fc = nn.Linear(mean.numel(), num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, D)`` features -> ``(N, num_classes)`` logits."""
        return self.fc((x.float() - self.mean) / self.std)


def fit_linear_probe(feats: Tensor,
                     targets: Tensor,
                     num_classes: int,
                     epochs: int = 30,
                     lr: float = 1e-2,
                     weight_decay: float = 1e-4,
                     batch_size: int = 1024,
                     seed: int = 0,
                     max_steps: Optional[int] = None) -> LinearProbe:
    """Fit a :class:`LinearProbe` by cross-entropy (AdamW, cosine lr).

    Args:
        feats (Tensor): ``(N, D)`` frozen training features.
        targets (Tensor): ``(N,)`` int labels in ``[0, num_classes)`` or
            ``(N, num_classes)`` soft targets (rows summing to 1).
        num_classes (int): Number of classes.
        epochs (int): Passes over the data. Defaults to 30.
        lr (float): Peak AdamW learning rate (cosine decay to 0). Defaults
            to 1e-2.
        weight_decay (float): AdamW weight decay. Defaults to 1e-4.
        batch_size (int): Mini-batch size. Defaults to 1024.
        seed (int): Initialisation and shuffling seed. Defaults to 0.
        max_steps (int, optional): Stop after this many optimiser steps
            (the cosine schedule is then laid over ``max_steps``).

    Returns:
        LinearProbe: The fitted probe, in eval mode.
    """
    if feats.dim() != 2:
        raise ValueError('fit_linear_probe: feats must be (N, D), got '
                         f'{tuple(feats.shape)}')
    n = feats.shape[0]
    if targets.shape[0] != n:
        raise ValueError(f'fit_linear_probe: {n} features but '
                         f'{targets.shape[0]} targets')
    soft = targets.dim() == 2
    if soft:
        if targets.shape[1] != num_classes:
            raise ValueError('fit_linear_probe: soft targets must be (N, '
                             f'{num_classes}), got {tuple(targets.shape)}')
    elif targets.numel() and (targets.min() < 0
                              or targets.max() >= num_classes):
        raise ValueError('fit_linear_probe: labels outside '
                         f'[0, {num_classes})')
    gen = torch.Generator().manual_seed(seed)
    mean, std = feature_stats(feats)
    probe = LinearProbe(mean, std, num_classes)
    with torch.no_grad():
        probe.fc.weight.normal_(0, 0.01, generator=gen)
        probe.fc.bias.zero_()
    x = feats.float()
    y = targets.float() if soft else targets.long()
    steps_per_epoch = math.ceil(n / batch_size)
    total = epochs * steps_per_epoch
    if max_steps is not None:
        total = min(total, max_steps)
    opt = torch.optim.AdamW(
        probe.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / max(total, 1))))
    step = 0
    probe.train()
    while step < total:
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(probe(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step >= total:
                break
    return probe.eval()


@torch.no_grad()
def predict(probe: nn.Module, feats: Tensor, batch_size: int = 8192) -> Tensor:
    """Logits of ``probe`` on ``(N, D)`` features, in chunks."""
    return torch.cat([
        probe(feats[i:i + batch_size])
        for i in range(0, feats.shape[0], batch_size)
    ]) if feats.shape[0] else feats.new_zeros(0, probe.fc.out_features)


def linear_probe_top1(train_feats: Tensor,
                      train_labels: Tensor,
                      test_feats: Tensor,
                      test_labels: Tensor,
                      num_classes: int,
                      epochs: int = 30,
                      lr: float = 1e-2,
                      weight_decay: float = 1e-4,
                      seed: int = 0) -> float:
    """Top-1 accuracy (percent) of a linear probe fitted on the training
    features (see :func:`fit_linear_probe`)."""
    probe = fit_linear_probe(
        train_feats,
        train_labels,
        num_classes,
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed)
    pred = predict(probe, test_feats).argmax(1)
    return (pred == test_labels).float().mean().item() * 100


#: Learning rates among which :func:`select_probe_lr` chooses.
PROBE_LRS = (1e-2, 1e-1, 1.0)


def select_probe_lr(feats: Tensor,
                    labels: Tensor,
                    num_classes: int,
                    lrs: Sequence[float] = PROBE_LRS,
                    epochs: int = 100,
                    seed: int = 0) -> float:
    """The probe learning rate with the best top-1 on a held-out 20 % of
    the training features (ties: the first).

    The split is a random permutation drawn with ``seed``: its first
    ``max(1, N // 5)`` rows validate, the rest fit
    (:func:`linear_probe_top1` with ``epochs`` and ``seed``).
    """
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(feats.shape[0], generator=gen)
    n_val = max(1, feats.shape[0] // 5)
    val, tr = perm[:n_val], perm[n_val:]
    scores = [
        linear_probe_top1(
            feats[tr],
            labels[tr],
            feats[val],
            labels[val],
            num_classes,
            epochs=epochs,
            lr=lr,
            seed=seed) for lr in lrs
    ]
    return lrs[scores.index(max(scores))]


__all__ = [
    'feature_stats', 'LinearProbe', 'fit_linear_probe', 'predict',
    'linear_probe_top1', 'PROBE_LRS', 'select_probe_lr'
]
