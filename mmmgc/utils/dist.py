"""Collectives shared by MGC and Mugs (heads, queues, global batch norm,
hooks).

Rank and world size come from :mod:`mmengine.dist` (0 and 1 outside a
process group). Every helper here is the identity (a detached copy where
no gradient flows) unless more than one rank takes part
(:func:`is_multi_rank`), so single-process code and tests run unchanged.
Starting a process group without a GPU is :mod:`mmmgc.utils.cpu_dist`.
"""
from typing import List

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_world_size
from torch import Tensor


def is_multi_rank() -> bool:
    """True when a process group with more than one rank is active.

    (``mmengine.dist.is_distributed`` is True for any initialised process
    group, a single rank included.)"""
    return get_world_size() > 1


def all_gather_sizes(n: int, device=None) -> List[int]:
    """Every rank's ``n``, in rank order (``[n]`` on a single rank)."""
    if not is_multi_rank():
        return [n]
    t = torch.tensor([n], device=device, dtype=torch.long)
    sizes = [torch.zeros_like(t) for _ in range(get_world_size())]
    torch_dist.all_gather(sizes, t)
    return [int(s.item()) for s in sizes]


@torch.no_grad()
def concat_all_gather_varsize(x: Tensor) -> Tensor:
    """All-gather tensors whose first dimension may differ between ranks.

    Sizes are exchanged first (:func:`all_gather_sizes`), every rank pads
    to the largest, and the padding is cut off again, so the result is
    exactly the rank-ordered concatenation of every rank's rows. No
    gradient flows.

    Args:
        x (Tensor): The local tensor, shape ``(n_rank, ...)``.

    Returns:
        Tensor: ``(sum of n_rank, ...)``.
    """
    if not is_multi_rank():
        return x.detach()
    sizes = all_gather_sizes(x.shape[0], device=x.device)
    pad = x.new_zeros((max(sizes) - x.shape[0], ) + tuple(x.shape[1:]))
    x_pad = torch.cat([x.contiguous(), pad], dim=0)
    out = [torch.empty_like(x_pad) for _ in range(len(sizes))]
    torch_dist.all_gather(out, x_pad)
    return torch.cat([o[:s] for o, s in zip(out, sizes)], dim=0)


@torch.no_grad()
def all_reduce_mean(x: Tensor) -> Tensor:
    """Average a tensor over ranks (returns a new tensor; no gradient)."""
    if not is_multi_rank():
        return x.detach().clone()
    y = x.detach().clone()
    torch_dist.all_reduce(y)
    return y / get_world_size()


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of a sum over ranks is the sum over ranks
    of the incoming gradients."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        y = x.clone()
        torch_dist.all_reduce(y, op=torch_dist.ReduceOp.SUM)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        g = grad.contiguous().clone()
        torch_dist.all_reduce(g, op=torch_dist.ReduceOp.SUM)
        return g


def all_reduce_sum_with_grad(x: Tensor) -> Tensor:
    """Differentiable all-reduce (sum); its backward sums the gradients of
    every rank. Identity on a single rank."""
    if not is_multi_rank():
        return x
    return _AllReduceSum.apply(x)


__all__ = [
    'is_multi_rank', 'all_gather_sizes', 'concat_all_gather_varsize',
    'all_reduce_mean', 'all_reduce_sum_with_grad'
]
