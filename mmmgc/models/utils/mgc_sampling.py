"""Sparse sampling of MGC query cells and the keys they need (Sec. 3.2).

Per image and granularity, a few view-1 cells are drawn at random among the
cells that overlap view 2 (the queries). The keys of that image are the
view-2 cells that at least one of its queries overlaps: exactly the cells
that carry target mass, so no positive is ever dropped and the targets of a
query stay complete. Every function here is batched (no Python loop over
images or cells) and accepts either a ``torch.Generator`` or per-sample
integer seeds, so that the random choices can be pinned (e.g. to compare a
1-rank run with a 2-rank run, where per-sample seeds give identical picks
however the batch is split).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

_MASK32 = 0xFFFFFFFF
_HASH_MULT = 0x45D9F3B  # < 2**27, so products of 32-bit values fit in int64


def _mix32(x: Tensor) -> Tensor:
    """A 32-bit integer hash (int64 arithmetic, no overflow)."""
    x = ((x >> 16) ^ x) & _MASK32
    x = (x * _HASH_MULT) & _MASK32
    x = ((x >> 16) ^ x) & _MASK32
    x = (x * _HASH_MULT) & _MASK32
    x = ((x >> 16) ^ x) & _MASK32
    return x


def hashed_uniform(seeds: Tensor, num: int, salt: int = 0) -> Tensor:
    """Deterministic uniform numbers in ``[0, 1)`` from per-row seeds.

    Args:
        seeds (Tensor): ``(B,)`` integer seeds (e.g. sample index mixed with
            the iteration).
        num (int): Numbers per row.
        salt (int): Distinguishes independent draws from the same seeds
            (e.g. granularity and direction). Defaults to 0.

    Returns:
        Tensor: float32 ``(B, num)``; row ``b`` depends only on
        ``seeds[b]``, ``salt`` and the column, never on the batch layout.
    """
    s = seeds.to(torch.int64).reshape(-1, 1) & _MASK32
    col = torch.arange(num, device=seeds.device, dtype=torch.int64)
    x = _mix32(s ^ _mix32(torch.full_like(s, salt & _MASK32) + 0x9E3779B))
    x = _mix32(x ^ _mix32(col.unsqueeze(0) + 0x7F4A7C15))
    return (x >> 8).to(torch.float32) / float(1 << 24)


def random_scores(batch: int, num: int, device: torch.device,
                  generator: Optional[torch.Generator] = None,
                  seeds: Optional[Tensor] = None, salt: int = 0) -> Tensor:
    """``(batch, num)`` uniform scores from ``seeds`` (if given), else from
    ``generator`` (if given), else from torch's global RNG."""
    if seeds is not None:
        if seeds.shape[0] != batch:
            raise ValueError(f'seeds has {seeds.shape[0]} rows, expected '
                             f'{batch}')
        return hashed_uniform(seeds.to(device), num, salt)
    if generator is not None:
        return torch.rand(batch, num, generator=generator,
                          device=generator.device).to(device)
    return torch.rand(batch, num, device=device)


def sample_query_cells(valid: Tensor,
                       num_samples: int,
                       generator: Optional[torch.Generator] = None,
                       seeds: Optional[Tensor] = None,
                       salt: int = 0) -> Tuple[Tensor, Tensor]:
    """Draw up to ``num_samples`` distinct valid cells per image, uniformly.

    Args:
        valid (Tensor): ``(B, M)`` bool, True for cells that may be drawn
            (view-1 cells that overlap view 2).
        num_samples (int): Cells per image; an image with fewer valid
            cells gives all of them.
        generator (torch.Generator, optional): Randomness source.
        seeds (Tensor, optional): ``(B,)`` per-sample seeds; take precedence
            over ``generator``.
        salt (int): Distinguishes draws from the same seeds. Defaults to 0.

    Returns:
        tuple: ``img_idx`` and ``cell_idx``, each ``(N,)`` long: the image
        and cell of every drawn query, grouped by image.
    """
    if num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    batch, cells = valid.shape
    k = min(num_samples, cells)
    scores = random_scores(batch, cells, valid.device, generator, seeds, salt)
    scores = scores.masked_fill(~valid, -1.0)
    top, idx = scores.topk(k, dim=1)
    flat = (top >= 0).flatten().nonzero().squeeze(1)
    return flat // k, idx.flatten()[flat]


def overlapped_key_cells(rows: Tensor, img_idx: Tensor,
                         batch: int) -> Tuple[Tensor, Tensor]:
    """The key-view cells that the drawn queries overlap, per image.

    Args:
        rows (Tensor): ``(Q, N)`` correspondence rows of the drawn queries
            (targets or raw areas; only ``> 0`` matters).
        img_idx (Tensor): ``(Q,)`` image of each query.
        batch (int): Number of images ``B``.

    Returns:
        tuple: ``img_idx`` and ``cell_idx`` of the keys, each ``(K,)`` long,
        sorted by image then cell.
    """
    hit = rows.new_zeros(batch, rows.shape[1])
    hit.index_add_(0, img_idx, rows)
    kb, kj = (hit > 0).nonzero(as_tuple=True)
    return kb, kj


def all_key_cells(batch: int, cells: int,
                  device: torch.device) -> Tuple[Tensor, Tensor]:
    """Every cell of every image as a key (the dense form of Eq. 3)."""
    kb = torch.arange(batch, device=device).repeat_interleave(cells)
    kj = torch.arange(cells, device=device).repeat(batch)
    return kb, kj


def gather_targets(rows: Tensor, q_img: Tensor, k_img: Tensor,
                   k_cell: Tensor, batch: int) -> Tensor:
    """Targets of the drawn queries over the kept keys, renormalised.

    Entry ``[q, k]`` is ``rows[q, k_cell[k]]`` when query ``q`` and key
    ``k`` come from the same image, else 0; each row is then renormalised
    over the kept keys. With raw areas as ``rows`` this IS Eq. 2 whenever
    the kept keys include every cell a query overlaps (``'overlap'`` and
    ``'all'`` keys); with Eq. 2 targets it is a no-op then. The work is
    ``O(Q x N)`` (a per-image map from cell to key column), not ``O(Q x K)``
    gathers.

    Args:
        rows (Tensor): ``(Q, N)`` correspondence rows of the queries.
        q_img (Tensor): ``(Q,)`` image of each query.
        k_img (Tensor): ``(K,)`` image of each key.
        k_cell (Tensor): ``(K,)`` cell of each key (distinct per image).
        batch (int): Number of images ``B``.

    Returns:
        Tensor: float32 ``(Q, K)``.
    """
    num_keys = k_img.shape[0]
    column = torch.full((batch, rows.shape[1]), -1, dtype=torch.long,
                        device=rows.device)
    column[k_img, k_cell] = torch.arange(num_keys, device=rows.device)
    col = column[q_img]  # (Q, N): key column of each cell, or -1
    kept = rows * (col >= 0).to(rows.dtype)
    kept = (kept / kept.sum(1, keepdim=True).clamp_min(1e-30)).float()
    out = kept.new_zeros(q_img.shape[0], num_keys)
    return out.scatter_add_(1, col.clamp_min(0), kept)


__all__ = [
    'hashed_uniform', 'random_scores', 'sample_query_cells',
    'overlapped_key_cells', 'all_key_cells', 'gather_targets'
]
