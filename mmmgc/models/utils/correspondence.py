"""Multi-grained correspondence targets of MGC (paper Sec. 3.1, Eq. 2).

Two views of one image are random resized crops with boxes ``(x, y, w, h)``
in ORIGINAL-image pixels, optionally flipped horizontally after cropping.
Each view, as fed to the network, is cut into a ``G x G`` grid of cells
(``G = grid_size // granularity``); cell ``i = row * G + col`` is counted in
the view AS FED (after its flip), which is also how the pooled patch tokens
are laid out. Cell ``col`` of a flipped view therefore covers the original
column ``G - 1 - col`` of its box.

The target of cell ``i`` of view 1 over the cells ``j`` of view 2 is the
area of their intersection, measured in original-image pixels, divided by
the sum over ``j'`` of those areas (Eq. 2; Eq. 10 of the appendix reduces to
it because all view-2 cells of one granularity have the same area). A cell
that does not overlap view 2 gets an all-zero row.

Cells are axis-aligned rectangles, so an intersection area is the product of
a 1-D overlap along x and one along y: the batched computation needs two
``(B, G, G)`` overlap tables and one outer product, with no loop over cells
or images. The maths runs in float64 (exact to ~1e-12 for pixel boxes) and
the result is returned in float32.
"""
from typing import Tuple

import torch
from torch import Tensor


def _check_inputs(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                  flips2: Tensor, grid_size: int, granularity: int) -> int:
    """Validate shapes and the granularity; returns ``G``."""
    if not isinstance(grid_size, int) or grid_size < 1:
        raise ValueError(f'grid_size must be a positive int, got '
                         f'{grid_size!r}')
    if not isinstance(granularity, int) or granularity < 1 \
            or grid_size % granularity != 0:
        raise ValueError(
            f'granularity {granularity!r} does not divide grid_size '
            f'{grid_size}: every granularity c must divide the patch grid '
            '(e.g. c in {1, 2, 7, 14} for a 14 x 14 grid)')
    for name, box in (('boxes1', boxes1), ('boxes2', boxes2)):
        if box.dim() != 2 or box.shape[1] != 4:
            raise ValueError(f'{name} must have shape (B, 4) (x, y, w, h), '
                             f'got {tuple(box.shape)}')
    b = boxes1.shape[0]
    for name, t in (('boxes2', boxes2), ('flips1', flips1),
                    ('flips2', flips2)):
        if t.shape[0] != b:
            raise ValueError(f'{name} has batch size {t.shape[0]}, '
                             f'boxes1 has {b}')
    for name, f in (('flips1', flips1), ('flips2', flips2)):
        if f.dim() != 1:
            raise ValueError(f'{name} must have shape (B,), got '
                             f'{tuple(f.shape)}')
    return grid_size // granularity


def cell_edges_1d(start: Tensor, length: Tensor, flip: Tensor,
                  cells: int) -> Tuple[Tensor, Tensor]:
    """Original-image interval of each cell of a view along one axis.

    Args:
        start (Tensor): ``(B,)`` box start (x or y) in original pixels.
        length (Tensor): ``(B,)`` box length (w or h) in original pixels.
        flip (Tensor): ``(B,)`` bool; True mirrors the cell order (use False
            for the y axis).
        cells (int): Number of cells ``G`` along the axis.

    Returns:
        tuple: ``lo`` and ``hi``, each ``(B, G)``: the interval of cell ``g``
        as counted in the view as fed to the network.
    """
    g = torch.arange(cells, device=start.device, dtype=start.dtype)
    g = g.unsqueeze(0).expand(start.shape[0], cells)
    g = torch.where(flip.unsqueeze(1), cells - 1 - g, g)
    size = (length / cells).unsqueeze(1)
    lo = start.unsqueeze(1) + g * size
    return lo, lo + size


def overlap_1d(lo1: Tensor, hi1: Tensor, lo2: Tensor, hi2: Tensor) -> Tensor:
    """Lengths of pairwise interval intersections: ``(B, G1, G2)``."""
    lo = torch.maximum(lo1.unsqueeze(2), lo2.unsqueeze(1))
    hi = torch.minimum(hi1.unsqueeze(2), hi2.unsqueeze(1))
    return (hi - lo).clamp_min(0)


def correspondence_areas(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                         flips2: Tensor, grid_size: int,
                         granularity: int) -> Tensor:
    """Intersection areas of every view-1 cell with every view-2 cell.

    Arguments as in :func:`correspondence_targets`.

    Returns:
        Tensor: float64 ``(B, G*G, G*G)``; entry ``[b, i, j]`` is the area in
        original-image pixels of (cell i of view 1) ∩ (cell j of view 2).
    """
    cells = _check_inputs(boxes1, flips1, boxes2, flips2, grid_size,
                          granularity)
    b1 = boxes1.to(torch.float64)
    b2 = boxes2.to(torch.float64).to(b1.device)
    f1 = flips1.to(device=b1.device, dtype=torch.bool)
    f2 = flips2.to(device=b1.device, dtype=torch.bool)
    no_flip = torch.zeros_like(f1)
    x1 = cell_edges_1d(b1[:, 0], b1[:, 2], f1, cells)
    x2 = cell_edges_1d(b2[:, 0], b2[:, 2], f2, cells)
    y1 = cell_edges_1d(b1[:, 1], b1[:, 3], no_flip, cells)
    y2 = cell_edges_1d(b2[:, 1], b2[:, 3], no_flip, cells)
    ox = overlap_1d(*x1, *x2)  # (B, col1, col2)
    oy = overlap_1d(*y1, *y2)  # (B, row1, row2)
    # area[b, r1, c1, r2, c2] = oy[b, r1, r2] * ox[b, c1, c2]
    area = oy[:, :, None, :, None] * ox[:, None, :, None, :]
    n = cells * cells
    return area.reshape(b1.shape[0], n, n)


def normalize_rows(areas: Tensor) -> Tensor:
    """Divide each row by its sum; all-zero rows stay zero (float32).

    Args:
        areas (Tensor): ``(B, M, N)`` non-negative areas.

    Returns:
        Tensor: float32 ``(B, M, N)`` row-stochastic (or zero) targets.
    """
    total = areas.sum(-1, keepdim=True)
    out = areas / torch.where(total > 0, total, torch.ones_like(total))
    return out.to(torch.float32)


def correspondence_targets(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                           flips2: Tensor, grid_size: int,
                           granularity: int) -> Tensor:
    """Correspondence targets of MGC (paper Eq. 2), batched and exact.

    Args:
        boxes1 (Tensor): ``(B, 4)`` float, each row ``(x, y, w, h)`` of view
            1's crop in original-image pixels.
        flips1 (Tensor): ``(B,)`` bool, True where view 1 was flipped
            horizontally after cropping.
        boxes2 (Tensor): ``(B, 4)`` float, view 2's crop boxes.
        flips2 (Tensor): ``(B,)`` bool, view 2's flips.
        grid_size (int): Patches per side of a view (e.g. 14 for 224 px and
            patch 16).
        granularity (int): Pooling window ``c``; must divide ``grid_size``.

    Returns:
        Tensor: float32 ``(B, G*G, G*G)`` with ``G = grid_size //
        granularity``. ``W[b, i, j]`` is the area of (cell i of view 1) ∩
        (cell j of view 2) divided by the sum over ``j'`` of those areas;
        cell ``i = row * G + col`` is counted in the view as fed to the
        network (after its flip). A row whose cell does not overlap view 2
        is all zeros.

    Raises:
        ValueError: If ``granularity`` does not divide ``grid_size`` or the
            shapes are inconsistent.
    """
    return normalize_rows(
        correspondence_areas(boxes1, flips1, boxes2, flips2, grid_size,
                             granularity))


__all__ = [
    'correspondence_targets', 'correspondence_areas', 'normalize_rows',
    'cell_edges_1d', 'overlap_1d'
]
