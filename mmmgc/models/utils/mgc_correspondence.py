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
from typing import Optional, Tuple

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
    for name, t in (('boxes2', boxes2), ('flips1', flips1), ('flips2',
                                                             flips2)):
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
        start (Tensor): ``(...)`` box start (x or y) in original pixels.
        length (Tensor): ``(...)`` box length (w or h) in original pixels.
        flip (Tensor): ``(...)`` bool; True mirrors the cell order (False
            for the y axis).
        cells (int): Number of cells ``G`` along the axis.

    Returns:
        tuple: ``lo`` and ``hi``, each ``(..., G)``: the interval of cell
        ``g`` as counted in the view as fed to the network.
    """
    g = torch.arange(cells, device=start.device, dtype=start.dtype)
    g = torch.where(flip.unsqueeze(-1), cells - 1 - g, g)
    size = (length / cells).unsqueeze(-1)
    lo = start.unsqueeze(-1) + g * size
    return lo, lo + size


def overlap_1d(lo1: Tensor, hi1: Tensor, lo2: Tensor, hi2: Tensor) -> Tensor:
    """Lengths of pairwise interval intersections: ``(..., G1, G2)``."""
    lo = torch.maximum(lo1.unsqueeze(-1), lo2.unsqueeze(-2))
    hi = torch.minimum(hi1.unsqueeze(-1), hi2.unsqueeze(-2))
    return (hi - lo).clamp_min(0)


def cell_overlaps(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                  flips2: Tensor, grid_size: int,
                  granularity: int) -> Tuple[Tensor, Tensor]:
    """The two 1-D overlap tables whose outer product gives the areas.

    Arguments as in :func:`correspondence_targets`.

    Returns:
        tuple: ``ox`` and ``oy``, float64 ``(B, G, G)``: ``ox[b, c1, c2]`` is
        the overlap along x (original pixels) of column ``c1`` of view 1
        and column ``c2`` of view 2 (columns as fed, after flips);
        ``oy[b, r1, r2]`` the same for rows.
    """
    cells = _check_inputs(boxes1, flips1, boxes2, flips2, grid_size,
                          granularity)
    device = boxes1.device
    # (view, B, 4) -> start / length of shape (view, B, axis) with axis 0 = x
    boxes = torch.stack(
        [boxes1.to(device, torch.float64),
         boxes2.to(device, torch.float64)])
    flips = torch.stack([flips1.to(device), flips2.to(device)]).bool()
    # only the x axis is mirrored by a horizontal flip
    flip_xy = torch.stack([flips, torch.zeros_like(flips)], dim=-1)
    lo, hi = cell_edges_1d(boxes[..., :2], boxes[..., 2:], flip_xy, cells)
    ov = overlap_1d(lo[0], hi[0], lo[1], hi[1])  # (B, axis, G1, G2)
    return ov[:, 0], ov[:, 1]


def areas_from_overlaps(ox: Tensor,
                        oy: Tensor,
                        img_idx: Optional[Tensor] = None,
                        cell_idx: Optional[Tensor] = None) -> Tensor:
    """Cell-pair intersection areas from the 1-D tables.

    ``area[b, (r1, c1), (r2, c2)] = oy[b, r1, r2] * ox[b, c1, c2]``.

    Args:
        ox (Tensor): ``(B, G, G)`` x overlaps (see :func:`cell_overlaps`).
        oy (Tensor): ``(B, G, G)`` y overlaps.
        img_idx (Tensor, optional): ``(Q,)`` images of the wanted rows.
        cell_idx (Tensor, optional): ``(Q,)`` view-1 cells of the wanted
            rows. Without them every row is returned.

    Returns:
        Tensor: ``(B, G*G, G*G)``, or ``(Q, G*G)`` for the given rows.
    """
    cells = ox.shape[-1]
    if (img_idx is None) != (cell_idx is None):
        raise ValueError('give both img_idx and cell_idx, or neither')
    if img_idx is None:
        area = oy[:, :, None, :, None] * ox[:, None, :, None, :]
        return area.reshape(ox.shape[0], cells * cells, cells * cells)
    r, c = cell_idx // cells, cell_idx % cells
    rows = oy[img_idx, r].unsqueeze(2) * ox[img_idx, c].unsqueeze(1)
    return rows.reshape(img_idx.shape[0], cells * cells)


def row_areas(ox: Tensor, oy: Tensor) -> Tensor:
    """Total overlap area of each view-1 cell with view 2: ``(B, G*G)``."""
    return (oy.sum(2).unsqueeze(2) * ox.sum(2).unsqueeze(1)).flatten(1)


def overlapping_cells(boxes1: Tensor, flips1: Tensor, boxes2: Tensor,
                      flips2: Tensor, grid_size: int,
                      granularity: int) -> Tensor:
    """The view-1 cells that overlap view 2: the rows of
    :func:`correspondence_targets` that are not all zero.

    Arguments as in :func:`correspondence_targets`.

    Returns:
        Tensor: bool ``(B, G*G)``.
    """
    return row_areas(*cell_overlaps(boxes1, flips1, boxes2, flips2, grid_size,
                                    granularity)) > 0


def correspondence_areas(boxes1: Tensor,
                         flips1: Tensor,
                         boxes2: Tensor,
                         flips2: Tensor,
                         grid_size: int,
                         granularity: int,
                         img_idx: Optional[Tensor] = None,
                         cell_idx: Optional[Tensor] = None) -> Tensor:
    """Intersection areas of view-1 cells with every view-2 cell.

    Arguments as in :func:`correspondence_targets`.

    Returns:
        Tensor: float64 ``(B, G*G, G*G)``; entry ``[b, i, j]`` is the area in
        original-image pixels of (cell i of view 1) ∩ (cell j of view 2).
        With ``img_idx`` and ``cell_idx``, only the rows of those cells:
        ``(Q, G*G)``.
    """
    ox, oy = cell_overlaps(boxes1, flips1, boxes2, flips2, grid_size,
                           granularity)
    return areas_from_overlaps(ox, oy, img_idx, cell_idx)


def normalize_rows(areas: Tensor) -> Tensor:
    """Divide each row by its sum; all-zero rows stay zero (float32).

    Args:
        areas (Tensor): ``(..., N)`` non-negative areas.

    Returns:
        Tensor: float32 ``(..., N)`` row-stochastic (or zero) targets.
    """
    total = areas.sum(-1, keepdim=True)
    out = areas / torch.where(total > 0, total, torch.ones_like(total))
    return out.to(torch.float32)


def correspondence_targets(boxes1: Tensor,
                           flips1: Tensor,
                           boxes2: Tensor,
                           flips2: Tensor,
                           grid_size: int,
                           granularity: int,
                           img_idx: Optional[Tensor] = None,
                           cell_idx: Optional[Tensor] = None) -> Tensor:
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
        img_idx (Tensor, optional): ``(Q,)`` images of the wanted rows.
        cell_idx (Tensor, optional): ``(Q,)`` view-1 cells of the wanted
            rows. With both, only these rows are formed (training samples a
            few cells); they equal the same rows of the full result.

    Returns:
        Tensor: float32 ``(B, G*G, G*G)`` with ``G = grid_size //
        granularity``, or ``(Q, G*G)`` for the given rows. ``W[b, i, j]``
        is the area of (cell i of view 1) ∩ (cell j of view 2) divided by
        the sum over ``j'`` of those areas; cell ``i = row * G + col`` is
        counted in the view as fed to the network (after its flip). A row
        whose cell does not overlap view 2 is all zeros.

    Raises:
        ValueError: If ``granularity`` does not divide ``grid_size`` or the
            shapes are inconsistent.
    """
    return normalize_rows(
        correspondence_areas(boxes1, flips1, boxes2, flips2, grid_size,
                             granularity, img_idx, cell_idx))


__all__ = [
    'correspondence_targets', 'correspondence_areas', 'normalize_rows',
    'cell_edges_1d', 'overlap_1d', 'cell_overlaps', 'areas_from_overlaps',
    'row_areas', 'overlapping_cells'
]
