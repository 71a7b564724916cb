"""DAVIS-2017 video object segmentation by label propagation of frozen ViT
features (Mugs Table 7, DINO's protocol), and its J&F score
(``tools/analysis/davis_propagation.py``).

Reads ``<data_root>/JPEGImages/<resolution>/<seq>/*.jpg`` and
``<data_root>/Annotations/<resolution>/<seq>/*.png`` (palette PNGs) for the
sequences of ``<data_root>/<image_set>``. The first-frame mask is propagated
(:mod:`mmmgc.evaluation.label_propagation`); predictions are written as
palette PNGs under ``output_dir/<seq>/`` and scored with
:mod:`mmmgc.evaluation.davis_metrics` against every annotated frame. The
backbone (``model``) loads its checkpoint STRICTLY.
"""
import os
import os.path as osp

import numpy as np
import torch

from .davis_metrics import davis_j_and_f, sequence_j_and_f
from .label_propagation import (labels_to_one_hot, propagate_video,
                                soft_labels_to_mask)


def build_davis_backbone(cfg, checkpoint=None, device='cpu'):
    """The frozen backbone of ``cfg.model``, weights loaded (strictly)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    mcfg = cfg.model.copy()
    if checkpoint is not None:
        mcfg.init_cfg = dict(
            type='Pretrained',
            checkpoint=checkpoint,
            prefix=(mcfg.get('init_cfg') or {}).get('prefix', 'backbone.'))
    if mcfg.get('out_type', 'featmap') != 'featmap':
        raise ValueError("davis: model.out_type must be 'featmap' (patch "
                         f"tokens), got {mcfg.get('out_type')!r}")
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        backbone = MODELS.build(mcfg)
    if hasattr(backbone, 'num_heads_key'):  # the backbone is cfg.model here
        backbone.num_heads_key = 'model.arch.num_heads'
    backbone.init_weights()
    backbone.eval()  # (mmpretrain ViT.train() returns None)
    return backbone.to(device)


def resized_hw(h, w, short_side, size_divisor, patch_size):
    """DINO's frame size: short side ``short_side``, long side scaled and
    floored to a multiple of ``size_divisor``; both multiples of
    ``patch_size``."""
    if h <= w:
        th, tw = short_side, int(w * short_side / h) // size_divisor * \
            size_divisor
    else:
        tw, th = short_side, int(h * short_side / w) // size_divisor * \
            size_divisor
    if th % patch_size or tw % patch_size or not th or not tw:
        raise ValueError(f'davis: frame size {th}x{tw} (data.short_side='
                         f'{short_side}, data.size_divisor={size_divisor}) '
                         f'is not a multiple of patch_size={patch_size}')
    return th, tw


@torch.no_grad()
def frame_features(backbone, path, hw, mean, std):
    """``(h*w, C)`` patch features of one frame and the grid ``(h, w)``."""
    from PIL import Image
    img = Image.open(path).convert('RGB').resize((hw[1], hw[0]), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img, np.float32)).permute(2, 0, 1)
    mean = torch.tensor(mean).view(3, 1, 1)
    std = torch.tensor(std).view(3, 1, 1)
    x = (x - mean) / std
    device = backbone.patch_embed.projection.weight.device
    fmap = backbone(x[None].to(device))[-1][0]  # (C, h, w)
    return fmap.flatten(1).t().float().cpu(), tuple(fmap.shape[1:])


def read_annotation(path):
    """Index map and palette of a DAVIS palette PNG."""
    from PIL import Image
    ann = Image.open(path)
    if ann.mode != 'P':
        raise ValueError(f'davis: {path} is not a palette PNG (mode '
                         f'{ann.mode}); DAVIS annotations are indexed')
    return np.asarray(ann), ann.getpalette()


def run_sequence(backbone, cfg, seq):
    """Propagate and score one sequence; returns ``(preds, scores)``."""
    from PIL import Image

    d, p = cfg.data, cfg.propagation
    img_dir = osp.join(d.data_root, 'JPEGImages', d.resolution, seq)
    ann_dir = osp.join(d.data_root, 'Annotations', d.resolution, seq)
    frames = sorted(
        f for f in os.listdir(img_dir)
        if f.lower().endswith(('.jpg', '.jpeg', '.png')))
    if not frames:
        raise FileNotFoundError(f'davis: no frames in {img_dir}')
    first_ann = osp.join(ann_dir, osp.splitext(frames[0])[0] + '.png')
    if not osp.exists(first_ann):
        raise FileNotFoundError(f'davis: first-frame mask {first_ann} '
                                'is missing')
    gt0, palette = read_annotation(first_ann)
    ori_hw = gt0.shape
    patch = backbone.patch_embed.projection.stride[0]
    hw = resized_hw(*ori_hw, d.short_side, d.size_divisor, patch)
    feats = []
    for f in frames:
        feat, grid = frame_features(backbone, osp.join(img_dir, f), hw, d.mean,
                                    d.std)
        feats.append(feat)
    small = np.asarray(
        Image.fromarray(gt0).resize((grid[1], grid[0]), Image.NEAREST))
    small = np.where(small == 255, 0, small)
    first = labels_to_one_hot(small, int(gt0[gt0 != 255].max()) + 1)
    soft = propagate_video(feats, first, grid, p.n_last_frames, p.topk,
                           p.temperature, p.radius)
    preds = [gt0.astype(np.uint8)] + [
        soft_labels_to_mask(s, grid, patch, ori_hw) for s in soft[1:]
    ]
    out_dir = osp.join(cfg.output_dir, seq)
    os.makedirs(out_dir, exist_ok=True)
    for f, pred in zip(frames, preds):
        im = Image.fromarray(pred, mode='P')
        im.putpalette(palette)
        im.save(osp.join(out_dir, osp.splitext(f)[0] + '.png'))
    ann_paths = [
        osp.join(ann_dir,
                 osp.splitext(f)[0] + '.png') for f in frames
    ]
    if not all(osp.exists(a) for a in ann_paths):
        return preds, None  # test-dev style: masks written, not scored
    gts = [read_annotation(a)[0] for a in ann_paths]
    return preds, sequence_j_and_f(preds, gts, cfg.metric.bound_th)


def davis_from_config(cfg, checkpoint=None, device=None):
    """Run every sequence; returns J / F / J&F means (percent) and the
    per-sequence scores."""
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    backbone = build_davis_backbone(cfg, checkpoint, device)
    list_file = osp.join(cfg.data.data_root, cfg.data.image_set)
    if not osp.exists(list_file):
        raise FileNotFoundError(f'davis: data.image_set {list_file} '
                                'does not exist')
    with open(list_file) as f:
        seqs = [s.strip() for s in f if s.strip()]
    per_seq = {}
    for seq in seqs:
        _, scores = run_sequence(backbone, cfg, seq)
        if scores is not None:
            per_seq[seq] = scores
    res = dict(num_sequences=len(seqs), output_dir=cfg.output_dir)
    if per_seq:
        m = davis_j_and_f(per_seq)
        res.update({k: 100 * v for k, v in m.items()})
        res['per_sequence'] = {
            s: {
                str(o): {
                    k: 100 * v
                    for k, v in jf.items()
                }
                for o, jf in objs.items()
            }
            for s, objs in per_seq.items()
        }
    return res


__all__ = [
    'build_davis_backbone', 'resized_hw', 'frame_features', 'read_annotation',
    'run_sequence', 'davis_from_config'
]
