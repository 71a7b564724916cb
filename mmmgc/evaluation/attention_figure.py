"""The attention picture of a frozen ViT (MGC Fig. 6, Mugs Figs. 1 and 5),
for ``tools/visualization/vis_attention.py`` and the demo report.

Row 1: the image and the last block's CLS self-attention of every head
(the attention of the class-token query over the patch tokens), computed
from the last block's ``qkv`` projection: a forward pre-hook captures the
input of the last attention layer, so mmpretrain is not patched.

Row 2: two views of the image (``MGCTwoViewCrop``) side by side and, for
every patch of view 1 that overlaps view 2, a line to its best-matching
patch of view 2 (highest cosine similarity of the frozen patch tokens).
Green: the match lies in the true footprint of the patch (non-zero
correspondence target at granularity 1); red: elsewhere. The title gives
the share of green matches. MGC does not train the class token, so for MGC
row 2 is the informative one.
"""
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.figures import new_figure, rgb, save_png
from .demo_data import DEFAULT_DATASET, demo_scenes, make_views, to_input


@torch.no_grad()
def last_block_attention(vit: nn.Module, images: Tensor) -> Tensor:
    """Softmax attention weights of the last transformer block.

    Works with mmpretrain's ``VisionTransformer`` (and subclasses such as
    ``MoCoV3ViT``), whose blocks hold an ``attn`` module with ``qkv``,
    ``num_heads`` and ``head_dims``; the weights are
    ``softmax(q k^T / sqrt(head_dims))`` as in that module's forward.

    Args:
        vit (nn.Module): The ViT (eval mode is recommended).
        images (Tensor): ``(B, 3, H, W)`` normalised images.

    Returns:
        Tensor: ``(B, heads, T, T)``; rows are queries, columns keys, token
        0 is the class token.
    """
    layers = getattr(vit, 'layers', None)
    attn = getattr(layers[-1], 'attn', None) if layers else None
    if attn is None or not all(
            hasattr(attn, k) for k in ('qkv', 'num_heads', 'head_dims')):
        raise TypeError('last_block_attention needs an mmpretrain '
                        'VisionTransformer-like backbone (layers[-1].attn '
                        f'with qkv, num_heads, head_dims); got '
                        f'{type(vit).__name__}')
    captured = {}

    def hook(module, args):
        captured['x'] = args[0]

    handle = attn.register_forward_pre_hook(hook)
    try:
        vit(images)
    finally:
        handle.remove()
    x = captured['x']
    b, n, _ = x.shape
    qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dims)
    q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
    return (q @ k.transpose(-2, -1) * attn.head_dims**-0.5).softmax(-1)


def cls_attention_maps(attn: Tensor,
                       grid: int,
                       num_extra_tokens: int = 1) -> Tensor:
    """``(B, heads, grid, grid)`` attention of the class token over the
    patches (each map sums to at most 1)."""
    cls = attn[:, :, 0, num_extra_tokens:]
    if cls.shape[-1] != grid * grid:
        raise ValueError(f'{cls.shape[-1]} patch tokens do not form a '
                         f'{grid} x {grid} grid')
    return cls.reshape(attn.shape[0], attn.shape[1], grid, grid)


def best_matches(tokens1: Tensor, tokens2: Tensor) -> Tuple[Tensor, Tensor]:
    """For each row of ``tokens1`` ``(P1, C)`` the index of the most similar
    row of ``tokens2`` ``(P2, C)`` (cosine) and that similarity."""
    sim = F.normalize(
        tokens1.float(), dim=1) @ F.normalize(
            tokens2.float(), dim=1).t()
    best, idx = sim.max(1)
    return idx, best


def match_accuracy(matches: Tensor, targets: Tensor) -> Tuple[Tensor, float]:
    """Which matches land in the true footprint.

    Args:
        matches (Tensor): ``(P,)`` view-2 patch chosen for each view-1
            patch.
        targets (Tensor): ``(P, P)`` correspondence targets (granularity 1).

    Returns:
        tuple: ``valid`` bool ``(P,)`` (patches that overlap view 2) and
        the percentage of valid patches whose match has a non-zero target
        (NaN when no patch overlaps).
    """
    valid = targets.sum(1) > 0
    hit = targets[torch.arange(matches.shape[0]), matches] > 0
    if not valid.any():
        return valid, float('nan')
    return valid, hit[valid].float().mean().item() * 100


@torch.no_grad()
def attention_figure_data(vit: nn.Module, img_input: Tensor,
                          view_inputs: Tensor, boxes: np.ndarray,
                          flips: np.ndarray,
                          patch_size: int) -> Dict[str, object]:
    """Everything the figure shows, as arrays.

    Args:
        vit (nn.Module): Backbone returning raw tokens ``(B, T, C)``.
        img_input (Tensor): ``(1, 3, H, W)`` normalised image.
        view_inputs (Tensor): ``(2, 3, S, S)`` normalised views.
        boxes (np.ndarray): ``(2, 4)`` crop boxes.
        flips (np.ndarray): ``(2,)`` flips.
        patch_size (int): Patch side.

    Returns:
        dict: ``cls_maps`` ``(heads, g, g)``, ``matches`` ``(P,)``,
        ``valid`` / ``hit`` ``(P,)`` bool, ``accuracy`` (percent), ``grid``
        (patches per side of a view).
    """
    from mmmgc.models.utils import correspondence_targets
    vit.eval()
    g_img = img_input.shape[-1] // patch_size
    attn = last_block_attention(vit, img_input)
    cls_maps = cls_attention_maps(attn, g_img)[0]
    out = vit(view_inputs)
    tokens = out[-1] if isinstance(out, (list, tuple)) else out
    if isinstance(tokens, (list, tuple)):
        tokens = tokens[0]
    grid = view_inputs.shape[-1] // patch_size
    tokens = tokens[:, -grid * grid:]
    matches, _ = best_matches(tokens[0], tokens[1])
    b = torch.as_tensor(np.asarray(boxes, np.float64))
    f = torch.as_tensor(np.asarray(flips, bool))
    targets = correspondence_targets(b[:1], f[:1], b[1:], f[1:], grid, 1)[0]
    valid, acc = match_accuracy(matches, targets)
    hit = targets[torch.arange(matches.shape[0]), matches] > 0
    return dict(
        cls_maps=cls_maps,
        matches=matches,
        valid=valid,
        hit=hit,
        accuracy=acc,
        grid=grid)


def plot_attention(img: np.ndarray,
                   views,
                   data: Dict[str, object],
                   out: str,
                   title: str = '',
                   panel_px: int = 160) -> str:
    """Write the figure: ``(1 + heads) * panel_px`` wide and ``2 *
    panel_px`` high. ``img`` and ``views`` are uint8 BGR."""
    cls_maps = data['cls_maps'].numpy()
    heads = cls_maps.shape[0]
    cols = 1 + heads
    fig = new_figure(cols * panel_px, 2 * panel_px)
    if title:
        fig.suptitle(title, fontsize=8, y=0.99)
    size = img.shape[0]

    top = 0.07 if title else 0.0
    row_h = (1 - top) / 2

    def panel(r, c, span=1):
        return fig.add_axes([(c + 0.04) / cols, 1 - top - (r + 0.97) * row_h,
                             (span - 0.08) / cols, 0.82 * row_h])

    ax = panel(0, 0)
    ax.imshow(rgb(img))
    ax.set_title('image', fontsize=7)
    for h in range(heads):
        ax = panel(0, 1 + h)
        m = torch.from_numpy(cls_maps[h])[None, None]
        m = F.interpolate(m, size=(size, size), mode='nearest')[0, 0]
        ax.imshow(rgb(img))
        ax.imshow(m.numpy(), cmap='inferno', alpha=0.7)
        ax.set_title(f'CLS attention, head {h}', fontsize=7)
    # row 2: views side by side with match lines
    span = min(cols, 2)
    ax = panel(1, 0, span)
    v1, v2 = rgb(views[0]), rgb(views[1])
    s = v1.shape[0]
    gap = max(2, s // 16)
    canvas = np.full((s, 2 * s + gap, 3), 255, np.uint8)
    canvas[:, :s], canvas[:, s + gap:] = v1, v2
    ax.imshow(canvas)
    grid = int(data['grid'])
    step = s / grid
    for i in range(grid * grid):
        if not bool(data['valid'][i]):
            continue
        j = int(data['matches'][i])
        r1, c1 = divmod(i, grid)
        r2, c2 = divmod(j, grid)
        colour = 'lime' if bool(data['hit'][i]) else 'red'
        ax.plot([(c1 + 0.5) * step - 0.5, s + gap + (c2 + 0.5) * step - 0.5],
                [(r1 + 0.5) * step - 0.5, (r2 + 0.5) * step - 0.5],
                color=colour,
                lw=0.5,
                alpha=0.8)
    acc = data['accuracy']
    ax.set_title(
        f'best match view 1 -> view 2: {acc:.0f} % in the true '
        'footprint',
        fontsize=7)
    for a in fig.axes:
        a.set_xticks([])
        a.set_yticks([])
    return save_png(fig, out)


def attention_picture(backbone: nn.Module,
                      cfg,
                      out: str,
                      title: str = '',
                      image_index: int = 3,
                      seed: int = 0,
                      min_overlap: float = 0.3,
                      panel_px: int = 160,
                      dataset: str = DEFAULT_DATASET) -> Tuple[str, float]:
    """Write the attention picture of ``backbone`` (built from ``cfg``'s
    ``model.backbone``, returning raw tokens) on test scene
    ``image_index`` of ``dataset``, with two views cropped with seed
    ``seed``.

    Returns:
        tuple: ``out`` and the share (percent) of patch matches in the true
        footprint.
    """
    from .frozen_backbone import norm_stats
    size = cfg.model.backbone.get('img_size', 64)
    patch = cfg.model.backbone.get('patch_size', 16)
    imgs, _ = demo_scenes(image_index + 1, size=size, dataset=dataset)
    img = imgs[image_index]
    views, boxes, flips = make_views(img, size, (0.2, 1.0), min_overlap, seed)
    mean, std = norm_stats(cfg)
    data = attention_figure_data(backbone, to_input(img, mean, std),
                                 to_input(np.stack(views), mean, std), boxes,
                                 flips, patch)
    return plot_attention(img, views, data, out, title,
                          panel_px), data['accuracy']


__all__ = [
    'last_block_attention', 'cls_attention_maps', 'best_matches',
    'match_accuracy', 'attention_figure_data', 'plot_attention',
    'attention_picture'
]
