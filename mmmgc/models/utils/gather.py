"""Distributed helpers shared by MGC and Mugs.

All of them are no-ops (identity) when ``torch.distributed`` is not
initialised, so single-process code and tests run unchanged.
"""
from typing import List

import torch
import torch.distributed as torch_dist
from torch import Tensor


def is_distributed() -> bool:
    """True when a process group with more than one rank is active."""
    return (torch_dist.is_available() and torch_dist.is_initialized()
            and torch_dist.get_world_size() > 1)


def get_rank() -> int:
    return torch_dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return torch_dist.get_world_size() if is_distributed() else 1


@torch.no_grad()
def concat_all_gather(x: Tensor) -> Tensor:
    """All-gather equally shaped tensors and concatenate them along dim 0,
    in rank order. No gradient flows through the result.

    Args:
        x (Tensor): The local tensor, shape ``(n, ...)``; ``n`` must be the
            same on every rank (use :func:`concat_all_gather_varsize`
            otherwise).

    Returns:
        Tensor: ``(world_size * n, ...)``.
    """
    if not is_distributed():
        return x.detach()
    out = [torch.empty_like(x) for _ in range(get_world_size())]
    torch_dist.all_gather(out, x.contiguous())
    return torch.cat(out, dim=0)


@torch.no_grad()
def concat_all_gather_varsize(x: Tensor) -> Tensor:
    """All-gather tensors whose first dimension differs between ranks.

    Sizes are exchanged first, every rank pads to the largest, and the
    padding is cut off again, so the result is exactly the rank-ordered
    concatenation of every rank's rows. No gradient flows.

    Args:
        x (Tensor): The local tensor, shape ``(n_rank, ...)``.

    Returns:
        Tensor: ``(sum of n_rank, ...)``.
    """
    if not is_distributed():
        return x.detach()
    world = get_world_size()
    n = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    torch_dist.all_gather(sizes, n)
    sizes_l: List[int] = [int(s.item()) for s in sizes]
    n_max = max(sizes_l)
    pad = x.new_zeros((n_max - x.shape[0], ) + tuple(x.shape[1:]))
    x_pad = torch.cat([x.contiguous(), pad], dim=0)
    out = [torch.empty_like(x_pad) for _ in range(world)]
    torch_dist.all_gather(out, x_pad)
    return torch.cat([o[:s] for o, s in zip(out, sizes_l)], dim=0)


def all_gather_sizes(n: int, device=None) -> List[int]:
    """Every rank's ``n``, in rank order (``[n]`` when not distributed)."""
    if not is_distributed():
        return [n]
    t = torch.tensor([n], device=device, dtype=torch.long)
    sizes = [torch.zeros_like(t) for _ in range(get_world_size())]
    torch_dist.all_gather(sizes, t)
    return [int(s.item()) for s in sizes]


@torch.no_grad()
def all_reduce_mean(x: Tensor) -> Tensor:
    """Average a tensor over ranks (returns a new tensor; no gradient)."""
    if not is_distributed():
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
    every rank. Identity when not distributed."""
    if not is_distributed():
        return x
    return _AllReduceSum.apply(x)
