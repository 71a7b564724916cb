"""Batch normalisation whose statistics span the global batch.

``torch.nn.SyncBatchNorm`` only runs on GPU; this module also runs on CPU
with the gloo backend, so the equivalence of 1 rank x 2b and 2 ranks x b can
be tested here. Outside a process group it is exactly ``BatchNorm1d``.

It is registered in mmengine's root ``MODELS`` registry as ``'GlobalBN1d'``
(next to mmcv's ``'BN'``, ``'SyncBN'``, ...), so ``norm_cfg=dict(type=
'GlobalBN1d')`` builds it through ``mmcv.cnn.build_norm_layer`` from any
registry scope; ``dict(type='GlobalBN1d', affine=False)`` is the BN* of MGC
Table 7.
"""
import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor

from ...utils.dist import all_reduce_sum_with_grad, is_multi_rank


@MODELS.register_module('GlobalBN1d')
class GlobalBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` over ``(N, C)`` inputs with global-batch statistics.

    In training mode under DDP, the per-channel sum and count, then the sum
    of squared deviations, are all-reduced with a differentiable all-reduce
    (two passes, as accurate as a single process), so both the
    forward statistics and the backward pass equal those of one process
    holding the whole batch. Running statistics use the unbiased global
    variance, as ``BatchNorm1d`` does. All maths runs in fp32.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and is_multi_rank()):
            return super().forward(x)
        if x.dim() != 2:
            raise ValueError('GlobalBatchNorm1d expects (N, C) input, got '
                             f'{tuple(x.shape)}')
        in_dtype = x.dtype
        xf = x.float()
        c = self.num_features
        # Two passes (mean, then squared deviations) for the same accuracy
        # as torch's own kernel; both all-reduces are differentiable.
        count = torch.tensor([float(xf.shape[0])], device=xf.device)
        stats = all_reduce_sum_with_grad(torch.cat([xf.sum(0), count]))
        total = stats[-1]
        mean = stats[:c] / total
        sq = all_reduce_sum_with_grad(((xf - mean)**2).sum(0))
        var = sq / total
        if self.track_running_stats:
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 0.1
                unbiased = var * total / (total - 1).clamp_min(1)
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * unbiased.detach())
                self.num_batches_tracked.add_(1)
        y = (xf - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight + self.bias
        return y.to(in_dtype)


__all__ = ['GlobalBatchNorm1d']
