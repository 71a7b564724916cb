"""Which cells of two MGC views are contrasted, and with which targets
(paper Sec. 3.2).

Per image and granularity, a few view-1 cells are drawn at random among the
cells that overlap view 2 (the queries). The keys of that image are the
view-2 cells that at least one of its queries overlaps: exactly the cells
that carry target mass, so no positive is ever dropped and the targets of a
query stay complete. :func:`sample_cell_pairs` does all of it for one
granularity and both directions; its targets are rows of
:func:`~.mgc_correspondence.correspondence_targets` (Eq. 2), placed on the
kept keys. :func:`grid_avg_pool` gives the cell tokens in the same cell
order.

Every function here is batched (no Python loop over images or cells) and
accepts either a ``torch.Generator`` or per-sample integer seeds, so that
the random choices can be pinned (e.g. to compare a 1-rank run with a
2-rank run, where per-sample seeds give identical picks however the batch
is split).
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .mgc_correspondence import correspondence_targets, overlapping_cells

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


def random_scores(batch: int,
                  num: int,
                  device: torch.device,
                  generator: Optional[torch.Generator] = None,
                  seeds: Optional[Tensor] = None,
                  salt: int = 0) -> Tensor:
    """``(batch, num)`` uniform scores from ``seeds`` (if given), else from
    ``generator`` (if given), else from torch's global RNG."""
    if seeds is not None:
        if seeds.shape[0] != batch:
            raise ValueError(f'seeds has {seeds.shape[0]} rows, expected '
                             f'{batch}')
        return hashed_uniform(seeds.to(device), num, salt)
    if generator is not None:
        return torch.rand(
            batch, num, generator=generator,
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


def targets_over_keys(rows: Tensor, q_img: Tensor, k_img: Tensor,
                      k_cell: Tensor, batch: int) -> Tensor:
    """Lay the target rows of the drawn queries out over the kept keys.

    Entry ``[q, k]`` is ``rows[q, k_cell[k]]`` when query ``q`` and key
    ``k`` come from the same image, else 0. The keys must include every
    cell where a query's row is non-zero (both :func:`overlapped_key_cells`
    and :func:`all_key_cells` do), so each row keeps its whole mass; the
    values are copied, not renormalised. The work is ``O(Q x N)`` (a
    per-image map from cell to key column), not ``O(Q x K)`` gathers.

    Args:
        rows (Tensor): ``(Q, N)`` correspondence targets of the queries.
        q_img (Tensor): ``(Q,)`` image of each query.
        k_img (Tensor): ``(K,)`` image of each key.
        k_cell (Tensor): ``(K,)`` cell of each key (distinct per image).
        batch (int): Number of images ``B``.

    Returns:
        Tensor: ``(Q, K)``, the dtype of ``rows``.
    """
    num_keys = k_img.shape[0]
    column = torch.full((batch, rows.shape[1]),
                        -1,
                        dtype=torch.long,
                        device=rows.device)
    column[k_img, k_cell] = torch.arange(num_keys, device=rows.device)
    col = column[q_img]  # (Q, N): key column of each cell, or -1
    kept = rows * (col >= 0).to(rows.dtype)
    out = kept.new_zeros(q_img.shape[0], num_keys)
    return out.scatter_add_(1, col.clamp_min(0), kept)


class CellPairs(NamedTuple):
    """The queries, keys and targets of one direction of one granularity.

    Queries are cells of view ``q_view``, keys cells of view ``k_view``
    (0 or 1); ``q_img[n]``, ``q_cell[n]`` are the image and cell of query
    ``n``, ``k_img[m]``, ``k_cell[m]`` those of key ``m`` (sorted by image
    then cell); ``targets`` is float32 ``(Q, K)``, the Eq. 2 target of each
    query over the keys of the whole local batch (0 across images).
    """
    q_view: int
    k_view: int
    q_img: Tensor
    q_cell: Tensor
    k_img: Tensor
    k_cell: Tensor
    targets: Tensor


@torch.no_grad()
def sample_cell_pairs(boxes: Tensor,
                      flips: Tensor,
                      grid_size: int,
                      granularity: int,
                      num_samples: int,
                      key_cells: str = 'overlap',
                      symmetric: bool = True,
                      generator: Optional[torch.Generator] = None,
                      seeds: Optional[Tensor] = None,
                      salt: int = 0) -> List[CellPairs]:
    """Queries, keys and targets of one granularity, for each direction.

    Per direction (view 1 -> 2, then 2 -> 1 when ``symmetric``): up to
    ``num_samples`` query cells per image are drawn among the query-view
    cells that overlap the key view (:func:`sample_query_cells`); their
    targets are the rows of :func:`correspondence_targets` (Eq. 2) for
    these cells; the keys are the key-view cells that the queries of the
    image overlap (``key_cells='overlap'``) or every cell (``'all'``).

    Args:
        boxes (Tensor): ``(B, 2, 4)`` crop boxes ``(x, y, w, h)`` of both
            views in original-image pixels.
        flips (Tensor): ``(B, 2)`` bool horizontal flips of both views.
        grid_size (int): Patches per side of a view.
        granularity (int): Pooling window ``c``; must divide ``grid_size``.
        num_samples (int): Query cells per image.
        key_cells (str): ``'overlap'`` or ``'all'``. Defaults to
            ``'overlap'``.
        symmetric (bool): Also the direction view 2 -> view 1. Defaults to
            True.
        generator (torch.Generator, optional): Randomness of the draws.
        seeds (Tensor, optional): ``(B,)`` per-sample seeds; take precedence
            over ``generator``.
        salt (int): Salt of the first direction's draws; the second uses
            ``salt + 1``. Defaults to 0.

    Returns:
        list[CellPairs]: One per direction.
    """
    if key_cells not in ('overlap', 'all'):
        raise ValueError("key_cells must be 'overlap' or 'all', got "
                         f'{key_cells!r}')
    batch = boxes.shape[0]
    directions = [(0, 1), (1, 0)] if symmetric else [(0, 1)]
    out = []
    for d, (qv, kv) in enumerate(directions):
        views = (boxes[:, qv], flips[:, qv], boxes[:, kv], flips[:, kv],
                 grid_size, granularity)
        q_img, q_cell = sample_query_cells(
            overlapping_cells(*views),
            num_samples,
            generator,
            seeds,
            salt=salt + d)
        rows = correspondence_targets(*views, q_img, q_cell)
        if key_cells == 'overlap':
            k_img, k_cell = overlapped_key_cells(rows, q_img, batch)
        else:
            k_img, k_cell = all_key_cells(batch, rows.shape[1], rows.device)
        out.append(
            CellPairs(qv, kv, q_img, q_cell, k_img, k_cell,
                      targets_over_keys(rows, q_img, k_img, k_cell, batch)))
    return out


def grid_avg_pool(featmap: Tensor, granularity: int) -> Tensor:
    """Average-pool a patch-token map with window and stride ``c``.

    Args:
        featmap (Tensor): ``(B, C, H, W)`` patch tokens (``H == W``).
        granularity (int): Window ``c``; must divide ``H``.

    Returns:
        Tensor: ``(B, G*G, C)`` with ``G = H // c``; token ``i = row * G +
        col`` is the mean of the ``c x c`` patches of that cell, in the
        same cell order as :func:`correspondence_targets`.
    """
    b, c, h, w = featmap.shape
    if h != w or h % granularity != 0:
        raise ValueError(f'grid_avg_pool: granularity {granularity} must '
                         f'divide a square patch grid, got {h} x {w}')
    if granularity > 1:
        featmap = F.avg_pool2d(featmap, granularity)
    return featmap.flatten(2).transpose(1, 2)


__all__ = [
    'hashed_uniform', 'random_scores', 'sample_query_cells',
    'overlapped_key_cells', 'all_key_cells', 'targets_over_keys', 'CellPairs',
    'sample_cell_pairs', 'grid_avg_pool'
]
