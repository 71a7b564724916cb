"""Semi-supervised video object segmentation by nearest-neighbour label
propagation (the DINO protocol used by Mugs Table 7).

Each frame is cut into a grid of patch features. The labels of a target
frame are a weighted vote of the labels of context frames (the first frame,
whose labels are given, and the ``n`` previous frames, whose labels were
propagated before): every target patch takes its ``topk`` most similar
context patches (cosine similarity, restricted to a square spatial window
of ``radius`` patches), weighted by ``softmax(sim / temperature)``.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def neighbourhood_mask(height: int, width: int, radius: int) -> Tensor:
    """Which context positions each target position may look at.

    Args:
        height (int): Rows of the patch grid.
        width (int): Columns of the patch grid.
        radius (int): Half-size of the square window in patches (Chebyshev
            distance ``<= radius``). ``radius <= 0`` allows everything.

    Returns:
        Tensor: ``(H*W, H*W)`` bool, ``[target, context]``.
    """
    n = height * width
    if radius <= 0:
        return torch.ones(n, n, dtype=torch.bool)
    rows = torch.arange(height).repeat_interleave(width)
    cols = torch.arange(width).repeat(height)
    drow = (rows[:, None] - rows[None, :]).abs()
    dcol = (cols[:, None] - cols[None, :]).abs()
    return (drow <= radius) & (dcol <= radius)


def propagate_labels(target_feats: Tensor,
                     context_feats: Tensor,
                     context_labels: Tensor,
                     topk: int = 5,
                     temperature: float = 0.1,
                     mask: Optional[Tensor] = None) -> Tensor:
    """Soft labels of one target frame from its context frames.

    Args:
        target_feats (Tensor): ``(N, D)`` patch features of the target.
        context_feats (Tensor): ``(M, N, D)`` features of ``M`` context
            frames on the same grid.
        context_labels (Tensor): ``(M, C, N)`` soft (or one-hot) labels of
            the context frames.
        topk (int): Context patches kept per target patch, over all
            context frames together. Defaults to 5.
        temperature (float): Vote weights ``softmax(sim / T)`` over the kept
            patches. Defaults to 0.1.
        mask (Tensor, optional): ``(N, N)`` bool window from
            :func:`neighbourhood_mask`; ``None`` allows every position.

    Returns:
        Tensor: ``(C, N)`` soft labels; each column sums to 1 when the
        context labels do.
    """
    m, n, _ = context_feats.shape
    if context_labels.shape[0] != m or context_labels.shape[2] != n:
        raise ValueError(
            'propagate_labels: context_labels must be (M, C, N) = '
            f'({m}, C, {n}), got {tuple(context_labels.shape)}')
    if target_feats.shape[0] != n:
        raise ValueError('propagate_labels: target and context grids '
                         f'differ ({target_feats.shape[0]} vs {n} patches)')
    tgt = F.normalize(target_feats.float(), dim=-1)
    ctx = F.normalize(context_feats.float(), dim=-1)
    sim = torch.einsum('nd,mkd->nmk', tgt, ctx)  # (N, M, N)
    if mask is not None:
        sim = sim.masked_fill(~mask[:, None, :], float('-inf'))
    sim = sim.reshape(n, m * n)
    k = min(topk, m * n)
    top_sim, top_idx = sim.topk(k, dim=1)
    weights = torch.softmax(top_sim / temperature, dim=1)  # (N, k)
    labels = context_labels.float().permute(1, 0, 2).reshape(-1, m * n)
    # labels[:, top_idx] -> (C, N, k)
    return (labels[:, top_idx] * weights[None]).sum(-1)


def propagate_video(frame_feats: Sequence[Tensor],
                    first_labels: Tensor,
                    grid_hw: Tuple[int, int],
                    n_last_frames: int = 7,
                    topk: int = 5,
                    temperature: float = 0.1,
                    radius: int = 12) -> List[Tensor]:
    """Propagate first-frame labels through a video.

    The context of frame ``t`` is the first frame (given labels) and the
    last ``n_last_frames`` frames before ``t`` (their propagated soft
    labels).

    Args:
        frame_feats (Sequence[Tensor]): ``(N, D)`` features per frame.
        first_labels (Tensor): ``(C, N)`` one-hot labels of frame 0.
        grid_hw (tuple[int, int]): The patch grid ``(h, w)``, ``h*w = N``.
        n_last_frames (int): Previous frames in the queue. Defaults to 7.
        topk (int): See :func:`propagate_labels`. Defaults to 5.
        temperature (float): See :func:`propagate_labels`. Defaults to 0.1.
        radius (int): See :func:`neighbourhood_mask`. Defaults to 12.

    Returns:
        list[Tensor]: ``(C, N)`` soft labels for every frame (frame 0's are
        ``first_labels``).
    """
    h, w = grid_hw
    if first_labels.shape[1] != h * w:
        raise ValueError('propagate_video: first_labels has '
                         f'{first_labels.shape[1]} positions, grid '
                         f'{h}x{w} has {h * w}')
    mask = neighbourhood_mask(h, w, radius) if radius > 0 else None
    first = first_labels.float()
    out = [first]
    queue: List[Tuple[Tensor, Tensor]] = []
    for t in range(1, len(frame_feats)):
        feats = torch.stack([frame_feats[0]] + [f for f, _ in queue])
        labels = torch.stack([first] + [s for _, s in queue])
        soft = propagate_labels(frame_feats[t], feats, labels, topk,
                                temperature, mask)
        out.append(soft)
        queue.append((frame_feats[t], soft))
        if len(queue) > n_last_frames:
            queue.pop(0)
    return out


def normalise_label_maps(maps: Tensor) -> Tensor:
    """Min-max normalise each label channel to ``[0, 1]`` (channels whose
    maximum is not positive are left as they are).

    Args:
        maps (Tensor): ``(C, H, W)``.

    Returns:
        Tensor: ``(C, H, W)``.
    """
    out = maps.clone()
    for c in range(maps.shape[0]):
        ch = maps[c]
        if ch.max() > 0:
            ch = ch - ch.min()
            out[c] = ch / ch.max().clamp_min(1e-12)
    return out


def soft_labels_to_mask(soft: Tensor, grid_hw: Tuple[int, int],
                        patch_size: int, out_hw: Tuple[int,
                                                       int]) -> np.ndarray:
    """Hard label map at image resolution from patch-grid soft labels.

    Bilinear upsampling by ``patch_size``, per-channel min-max
    normalisation, arg-max, then nearest resizing to ``out_hw``.

    Args:
        soft (Tensor): ``(C, h*w)`` soft labels.
        grid_hw (tuple[int, int]): ``(h, w)``.
        patch_size (int): Backbone patch size.
        out_hw (tuple[int, int]): Output ``(H, W)`` (the original frame).

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.
    """
    h, w = grid_hw
    maps = soft.float().reshape(1, -1, h, w)
    maps = F.interpolate(
        maps, scale_factor=patch_size, mode='bilinear', align_corners=False)[0]
    idx = normalise_label_maps(maps).argmax(0)[None, None].float()
    idx = F.interpolate(idx, size=tuple(out_hw), mode='nearest')[0, 0]
    return idx.to(torch.uint8).numpy()


def labels_to_one_hot(index_map: np.ndarray, num_classes: int) -> Tensor:
    """``(h, w)`` integer labels -> ``(C, h*w)`` one-hot float tensor.

    Raises:
        ValueError: if a label is ``>= num_classes``.
    """
    idx = torch.as_tensor(np.asarray(index_map, dtype=np.int64))
    if idx.max() >= num_classes or idx.min() < 0:
        raise ValueError(f'labels_to_one_hot: labels {idx.unique().tolist()}'
                         f' outside [0, {num_classes})')
    return F.one_hot(idx.flatten(), num_classes).t().float()


__all__ = [
    'neighbourhood_mask', 'propagate_labels', 'propagate_video',
    'normalise_label_maps', 'soft_labels_to_mask', 'labels_to_one_hot'
]
