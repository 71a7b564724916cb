"""Draw MGC's multi-grained correspondence targets (the idea of MGC Fig. 2).

    python tools/visualization/vis_correspondence.py OUT.png
        [--image-index 3] [--seed 0] [--size 64] [--patch-size 8]
        [--granularities 1 2 4] [--point 0.5 0.5] [--panel-px 220]

One Fashion-MNIST scene (or ``--image PATH``) is cut into two views by
``MGCTwoViewCrop`` (the transform of the MGC configs; no colour
augmentation, so the views stay recognisable). For each granularity ``c``
(one row each) the figure shows:

1. the original image with the crop boxes of view 1 (red) and view 2
   (blue), and the chosen view-1 cell (yellow);
2. view 1 as fed to the network, its ``G x G`` grid (``G = grid / c``) and
   the chosen cell;
3. view 2 with the correspondence targets of that cell
   (``correspondence_targets``, MGC Eq. 2) as a heat map: the share of the
   cell's area that falls into each view-2 cell.

The chosen cell is the view-1 cell (at each granularity) that contains
``--point`` (fractions of view 1's width and height, as fed); by default
the centre of the boxes' overlap.
"""
import argparse
import sys
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from mmmgc.evaluation import make_views
from mmmgc.utils import new_figure, rgb, save_png


def cell_rect(box: Sequence[float], flip: bool, cells: int,
              cell: int) -> Tuple[float, float, float, float]:
    """Original-image rectangle ``(x0, y0, x1, y1)`` of ``cell`` (row-major
    in the view as fed) of a view with crop ``box`` and ``flip``."""
    x, y, w, h = (float(v) for v in box)
    row, col = divmod(int(cell), cells)
    if flip:
        col = cells - 1 - col
    cw, ch = w / cells, h / cells
    return x + col * cw, y + row * ch, x + (col + 1) * cw, y + (row + 1) * ch


def view_point_of(box: Sequence[float], flip: bool, px: float,
                  py: float) -> Tuple[float, float]:
    """Fractional position (in the view as fed) of original pixel
    ``(px, py)``."""
    x, y, w, h = (float(v) for v in box)
    fx, fy = (px - x) / w, (py - y) / h
    return (1 - fx if flip else fx), fy


def overlap_centre(boxes: np.ndarray) -> Tuple[float, float]:
    """Centre of the intersection of the two boxes (original pixels); the
    centre of box 1 if they do not intersect."""
    (x1, y1, w1, h1), (x2, y2, w2, h2) = boxes
    lo_x, hi_x = max(x1, x2), min(x1 + w1, x2 + w2)
    lo_y, hi_y = max(y1, y2), min(y1 + h1, y2 + h2)
    if hi_x <= lo_x or hi_y <= lo_y:
        return x1 + w1 / 2, y1 + h1 / 2
    return (lo_x + hi_x) / 2, (lo_y + hi_y) / 2


def cell_at(point: Tuple[float, float], cells: int) -> int:
    """Row-major index of the cell of a ``cells x cells`` grid that holds
    the fractional ``point`` ``(fx, fy)``."""
    col = min(cells - 1, max(0, int(point[0] * cells)))
    row = min(cells - 1, max(0, int(point[1] * cells)))
    return row * cells + col


def targets_of_cell(boxes: np.ndarray, flips: np.ndarray, grid_size: int,
                    granularity: int, cell: int) -> np.ndarray:
    """``(G, G)`` correspondence targets of view-1 ``cell`` over view 2."""
    from mmmgc.models.utils import correspondence_targets
    b = torch.as_tensor(np.asarray(boxes, np.float64))
    f = torch.as_tensor(np.asarray(flips, bool))
    w = correspondence_targets(b[:1], f[:1], b[1:], f[1:], grid_size,
                               granularity)
    g = grid_size // granularity
    return w[0, cell].reshape(g, g).numpy()


def _grid(ax, size: int, cells: int, colour: str = 'white') -> None:
    for k in range(1, cells):
        ax.axhline(k * size / cells - 0.5, color=colour, lw=0.5, alpha=0.6)
        ax.axvline(k * size / cells - 0.5, color=colour, lw=0.5, alpha=0.6)


def plot_correspondence(img: np.ndarray,
                        views: Sequence[np.ndarray],
                        boxes: np.ndarray,
                        flips: np.ndarray,
                        grid_size: int,
                        granularities: Sequence[int],
                        out: str,
                        point: Optional[Tuple[float, float]] = None,
                        panel_px: int = 220) -> str:
    """Write the figure (``3 * panel_px`` wide, ``len(granularities) *
    panel_px`` high) and return ``out``.

    Args:
        img (np.ndarray): uint8 BGR original ``(H, W, 3)``.
        views (Sequence[np.ndarray]): The two uint8 BGR views.
        boxes (np.ndarray): ``(2, 4)`` crop boxes ``(x, y, w, h)``.
        flips (np.ndarray): ``(2,)`` horizontal flips.
        grid_size (int): Patches per side of a view.
        granularities (Sequence[int]): One row per granularity ``c``.
        out (str): PNG path.
        point (tuple, optional): Fractional view-1 point that selects the
            cell; defaults to the centre of the boxes' overlap.
        panel_px (int): Side of one panel in pixels. Defaults to 220.
    """
    from matplotlib.patches import Rectangle
    if point is None:
        point = view_point_of(boxes[0], bool(flips[0]), *overlap_centre(boxes))
    size = views[0].shape[0]
    rows = len(granularities)
    fig = new_figure(3 * panel_px, rows * panel_px)
    for r, c in enumerate(granularities):
        cells = grid_size // c
        cell = cell_at(point, cells)
        targets = targets_of_cell(boxes, flips, grid_size, c, cell)
        axes = [
            fig.add_axes([(k + 0.04) / 3, 1 - (r + 0.88) / rows, 0.92 / 3,
                          0.78 / rows]) for k in range(3)
        ]
        # 1: original + boxes + cell
        ax = axes[0]
        ax.imshow(rgb(img))
        for (x, y, w, h), colour in zip(boxes, ('red', 'deepskyblue')):
            ax.add_patch(
                Rectangle((x - 0.5, y - 0.5),
                          w,
                          h,
                          fill=False,
                          ec=colour,
                          lw=1.5))
        x0, y0, x1, y1 = cell_rect(boxes[0], bool(flips[0]), cells, cell)
        ax.add_patch(
            Rectangle((x0 - 0.5, y0 - 0.5),
                      x1 - x0,
                      y1 - y0,
                      fill=True,
                      fc='yellow',
                      alpha=0.45,
                      ec='yellow',
                      lw=1))
        ax.set_title(
            f'original, c={c}: view 1 (red), view 2 (blue)', fontsize=7)
        # 2: view 1 + grid + cell
        ax = axes[1]
        ax.imshow(rgb(views[0]))
        _grid(ax, size, cells)
        row, col = divmod(cell, cells)
        step = size / cells
        ax.add_patch(
            Rectangle((col * step - 0.5, row * step - 0.5),
                      step,
                      step,
                      fill=True,
                      fc='yellow',
                      alpha=0.45,
                      ec='yellow',
                      lw=1.5))
        ax.set_title(
            f'view 1{" (flipped)" if flips[0] else ""}: cell '
            f'{cell} of {cells}x{cells}',
            fontsize=7)
        # 3: view 2 + heat map of the targets
        ax = axes[2]
        ax.imshow(rgb(views[1]))
        heat = np.kron(targets, np.ones((size // cells, size // cells)))
        ax.imshow(
            np.ma.masked_equal(heat, 0),
            cmap='autumn_r',
            alpha=0.65,
            vmin=0,
            vmax=max(float(targets.max()), 1e-6))
        _grid(ax, size, cells)
        if cells <= 4:
            for (i, j), v in np.ndenumerate(targets):
                if v > 0:
                    ax.text(
                        (j + 0.5) * step - 0.5, (i + 0.5) * step - 0.5,
                        f'{v:.2f}',
                        ha='center',
                        va='center',
                        fontsize=7,
                        color='black')
        ax.set_title(
            f'view 2{" (flipped)" if flips[1] else ""}: targets '
            f'(sum {targets.sum():.2f})',
            fontsize=7)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
    return save_png(fig, out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out', help='output PNG')
    p.add_argument(
        '--image',
        default=None,
        help='an image file instead of a Fashion-MNIST scene')
    p.add_argument(
        '--image-index',
        type=int,
        default=3,
        help='which generated test scene')
    p.add_argument('--seed', type=int, default=0, help='crop seed')
    p.add_argument('--size', type=int, default=64, help='view side (px)')
    p.add_argument('--patch-size', type=int, default=8)
    p.add_argument('--scale', type=float, nargs=2, default=(0.2, 1.0))
    p.add_argument('--min-overlap', type=float, default=0.2)
    p.add_argument('--granularities', type=int, nargs='+', default=[1, 2, 4])
    p.add_argument(
        '--point',
        type=float,
        nargs=2,
        default=None,
        help='fractional (x, y) in view 1 that picks the cell')
    p.add_argument('--panel-px', type=int, default=220)
    return p.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    if args.image:
        import mmcv
        img = mmcv.imread(args.image)
    else:
        from mmmgc.evaluation import demo_scenes
        imgs, _ = demo_scenes(args.image_index + 1, size=args.size)
        img = imgs[args.image_index]
    if args.size % args.patch_size:
        sys.exit(f'error: --size {args.size} is not a multiple of '
                 f'--patch-size {args.patch_size}')
    grid = args.size // args.patch_size
    for c in args.granularities:
        if grid % c:
            sys.exit(f'error: granularity {c} does not divide the {grid} x '
                     f'{grid} patch grid')
    views, boxes, flips = make_views(img, args.size, args.scale,
                                     args.min_overlap, args.seed)
    out = plot_correspondence(
        img,
        views,
        boxes,
        flips,
        grid,
        args.granularities,
        args.out,
        point=args.point,
        panel_px=args.panel_px)
    print(f'wrote {out}: boxes {boxes.tolist()}, flips {flips.tolist()}')
    return out


if __name__ == '__main__':
    main()
