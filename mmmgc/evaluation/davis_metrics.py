"""DAVIS video object segmentation metrics: region similarity J (IoU) and
contour accuracy F (boundary F-measure), per object and averaged.

Conventions follow the DAVIS-2017 semi-supervised benchmark: objects are
the ids of the first-frame annotation, the first and last frames are not
scored, pixels labelled ``void_label`` (255) are ignored, J and F of a
frame where both masks are empty are 1, and the F tolerance is
``ceil(bound_th * image diagonal)`` pixels. Boundaries are the foreground
pixels with a 4-neighbour of the background (the image border is not a
boundary); this reimplementation may differ from the official toolkit in
the last decimal, so run the official one on the written PNGs for numbers
that go next to a paper's.
"""
import math
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import ndimage


def region_similarity(pred: np.ndarray,
                      gt: np.ndarray,
                      void: Optional[np.ndarray] = None) -> float:
    """J: intersection over union of two binary masks.

    Args:
        pred (np.ndarray): ``(H, W)`` bool prediction.
        gt (np.ndarray): ``(H, W)`` bool ground truth.
        void (np.ndarray, optional): ``(H, W)`` bool pixels to ignore.

    Returns:
        float: IoU in ``[0, 1]``; 1 when both masks are empty.
    """
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f'region_similarity: shapes differ {pred.shape} '
                         f'vs {gt.shape}')
    if void is not None:
        keep = ~np.asarray(void, dtype=bool)
        pred, gt = pred & keep, gt & keep
    union = np.logical_or(pred, gt).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, gt).sum() / union)


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels that touch the background (4-connectivity).

    Args:
        mask (np.ndarray): ``(H, W)`` bool.

    Returns:
        np.ndarray: ``(H, W)`` bool boundary map.
    """
    mask = np.asarray(mask, dtype=bool)
    padded = np.pad(mask, 1, mode='edge')
    interior = (
        padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2]
        & padded[1:-1, 2:])
    return mask & ~interior


def _disk(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None]**2 + r[None, :]**2) <= radius**2


def boundary_f_measure(pred: np.ndarray,
                       gt: np.ndarray,
                       bound_th: float = 0.008,
                       void: Optional[np.ndarray] = None) -> float:
    """F: F-measure of boundary precision and recall within a tolerance.

    Args:
        pred (np.ndarray): ``(H, W)`` bool prediction.
        gt (np.ndarray): ``(H, W)`` bool ground truth.
        bound_th (float): Tolerance: pixels if ``>= 1``, else a fraction of
            the image diagonal. Defaults to 0.008.
        void (np.ndarray, optional): ``(H, W)`` bool pixels to ignore.

    Returns:
        float: F in ``[0, 1]``; 1 when neither mask has a boundary.
    """
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f'boundary_f_measure: shapes differ {pred.shape} '
                         f'vs {gt.shape}')
    if void is not None:
        keep = ~np.asarray(void, dtype=bool)
        pred, gt = pred & keep, gt & keep
    tol = bound_th if bound_th >= 1 else math.ceil(bound_th *
                                                   math.hypot(*pred.shape))
    pb, gb = mask_boundary(pred), mask_boundary(gt)
    n_p, n_g = pb.sum(), gb.sum()
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    disk = _disk(int(tol))
    precision = (pb & ndimage.binary_dilation(gb, disk)).sum() / n_p
    recall = (gb & ndimage.binary_dilation(pb, disk)).sum() / n_g
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def sequence_j_and_f(preds: Sequence[np.ndarray],
                     gts: Sequence[np.ndarray],
                     bound_th: float = 0.008,
                     void_label: int = 255,
                     skip_first_last: bool = True) -> Dict[int, dict]:
    """Per-object mean J and F over the frames of one sequence.

    Args:
        preds (Sequence[np.ndarray]): ``(H, W)`` integer label maps.
        gts (Sequence[np.ndarray]): ``(H, W)`` integer annotations; the
            objects are the non-zero, non-void ids of ``gts[0]``.
        bound_th (float): See :func:`boundary_f_measure`.
        void_label (int): Ignored label. Defaults to 255.
        skip_first_last (bool): Do not score the first and last frames
            (DAVIS semi-supervised protocol). Defaults to True.

    Returns:
        dict[int, dict]: ``{object_id: {'J': mean J, 'F': mean F}}``.
    """
    if len(preds) != len(gts):
        raise ValueError(f'sequence_j_and_f: {len(preds)} predictions for '
                         f'{len(gts)} annotated frames')
    first = np.asarray(gts[0])
    objects = [int(o) for o in np.unique(first) if o not in (0, void_label)]
    frames = range(1, len(gts) - 1) if skip_first_last and len(gts) > 2 \
        else range(len(gts))
    out = {}
    for obj in objects:
        js, fs = [], []
        for t in frames:
            gt = np.asarray(gts[t])
            pred = np.asarray(preds[t])
            if pred.shape != gt.shape:
                raise ValueError(f'sequence_j_and_f: frame {t} prediction '
                                 f'{pred.shape} vs annotation {gt.shape}')
            void = gt == void_label
            js.append(region_similarity(pred == obj, gt == obj, void))
            fs.append(
                boundary_f_measure(pred == obj, gt == obj, bound_th, void))
        out[obj] = dict(J=float(np.mean(js)), F=float(np.mean(fs)))
    return out


def davis_j_and_f(per_sequence: Dict[str, Dict[int, dict]]) -> dict:
    """Benchmark means over all objects of all sequences.

    Args:
        per_sequence (dict): ``{sequence: sequence_j_and_f(...)}``.

    Returns:
        dict: ``J_mean``, ``F_mean`` and ``JF_mean`` (their average), in
        ``[0, 1]``.
    """
    js = [o['J'] for s in per_sequence.values() for o in s.values()]
    fs = [o['F'] for s in per_sequence.values() for o in s.values()]
    if not js:
        raise ValueError('davis_j_and_f: no objects to score')
    j, f = float(np.mean(js)), float(np.mean(fs))
    return dict(J_mean=j, F_mean=f, JF_mean=(j + f) / 2)


__all__ = [
    'region_similarity', 'mask_boundary', 'boundary_f_measure',
    'sequence_j_and_f', 'davis_j_and_f'
]
