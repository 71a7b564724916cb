"""A linear per-patch segmentation probe on frozen ViT patch tokens.

The protocol of the CPU benchmark's dense level:

1. the frozen backbone maps each image to an ``h x w`` grid of patch
   features (:func:`extract_patch_features`);
2. each patch's target is the distribution of the pixel classes it covers
   (:func:`patch_label_distribution`); one linear layer is fitted on the
   training patches with the soft cross-entropy
   (:func:`mmmgc.evaluation.linear_probe.fit_linear_probe`);
3. on held-out images the per-patch logits are upsampled bilinearly to the
   pixel grid (:func:`upsample_logits`), the argmax is compared with the
   per-pixel class map, and the mean intersection over union is computed
   from the confusion matrix (:func:`confusion_matrix`,
   :func:`iou_per_class`, :func:`mean_iou`), as in mmseg's ``IoUMetric``:
   a class absent from both the ground truth and the predictions of the
   whole test set is left out of the mean.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .linear_probe import fit_linear_probe


def patch_label_distribution(seg: Tensor,
                             patch_size: int,
                             num_classes: int,
                             ignore_index: int = 255) -> Tensor:
    """Fraction of each class among the pixels of every patch.

    Args:
        seg (Tensor): ``(N, H, W)`` int class map; ``H`` and ``W`` must be
            multiples of ``patch_size``.
        patch_size (int): Patch side in pixels.
        num_classes (int): Number of classes ``K``.
        ignore_index (int): Pixels with this value are not counted.
            Defaults to 255.

    Returns:
        Tensor: float32 ``(N, H / p, W / p, K)``; each row sums to 1, or is
        all zeros for a patch whose pixels are all ignored.
    """
    if seg.dim() != 3:
        raise ValueError('patch_label_distribution: seg must be (N, H, W), '
                         f'got {tuple(seg.shape)}')
    n, h, w = seg.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f'patch_label_distribution: image {h}x{w} is not a '
                         f'multiple of patch_size {patch_size}')
    seg = seg.long()
    valid = seg != ignore_index
    bad = valid & ((seg < 0) | (seg >= num_classes))
    if bad.any():
        raise ValueError('patch_label_distribution: class ids outside '
                         f'[0, {num_classes}) (and not ignore_index='
                         f'{ignore_index})')
    onehot = F.one_hot(
        torch.where(valid, seg, torch.zeros_like(seg)),
        num_classes).float() * valid.unsqueeze(-1)
    gh, gw = h // patch_size, w // patch_size
    counts = onehot.reshape(n, gh, patch_size, gw, patch_size,
                            num_classes).sum((2, 4))
    total = counts.sum(-1, keepdim=True)
    return counts / total.clamp_min(1)


@torch.no_grad()
def extract_patch_features(backbone: nn.Module,
                           images: Tensor,
                           num_extra_tokens: int = 1,
                           batch_size: int = 256) -> Tensor:
    """Frozen patch-token maps of a ViT.

    Args:
        backbone (nn.Module): Returns (as its last output) either raw tokens
            ``(B, T, C)`` (mmpretrain ``out_type='raw'``; the first
            ``num_extra_tokens`` are dropped and the rest must form a square
            grid) or a feature map ``(B, C, h, w)``.
        images (Tensor): Normalised ``(N, 3, H, W)`` images.
        num_extra_tokens (int): Leading non-patch tokens. Defaults to 1.
        batch_size (int): Images per forward. Defaults to 256.

    Returns:
        Tensor: float32 ``(N, C, h, w)``.
    """
    was_training = backbone.training
    backbone.eval()
    out_maps = []
    for i in range(0, images.shape[0], batch_size):
        out = backbone(images[i:i + batch_size])
        if isinstance(out, (list, tuple)):
            out = out[-1]
        if isinstance(out, (list, tuple)):
            out = out[0]
        if out.dim() == 3:
            tokens = out[:, num_extra_tokens:]
            side = int(round(tokens.shape[1]**0.5))
            if side * side != tokens.shape[1]:
                raise ValueError(f'extract_patch_features: {tokens.shape[1]}'
                                 ' patch tokens do not form a square grid')
            out = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, side,
                                                 side)
        elif out.dim() != 4:
            raise ValueError('extract_patch_features: the backbone must '
                             'return (B, T, C) tokens or (B, C, h, w) maps, '
                             f'got {tuple(out.shape)}')
        out_maps.append(out.float())
    backbone.train(was_training)
    return torch.cat(out_maps)


def upsample_logits(logits: Tensor, size: int) -> Tensor:
    """Bilinear upsampling of ``(N, K, h, w)`` logits to ``size x size``
    (``align_corners=False``, as mmseg's heads)."""
    return F.interpolate(
        logits, size=(size, size), mode='bilinear', align_corners=False)


def confusion_matrix(pred: Tensor,
                     gt: Tensor,
                     num_classes: int,
                     ignore_index: int = 255) -> Tensor:
    """``(K, K)`` int64 counts; row = ground truth, column = prediction.

    Args:
        pred (Tensor): Predicted class ids, any shape.
        gt (Tensor): Ground-truth class ids, same shape.
        num_classes (int): ``K``.
        ignore_index (int): Ground-truth value to skip. Defaults to 255.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'confusion_matrix: pred {tuple(pred.shape)} and gt '
                         f'{tuple(gt.shape)} differ')
    pred = pred.reshape(-1).long()
    gt = gt.reshape(-1).long()
    keep = gt != ignore_index
    pred, gt = pred[keep], gt[keep]
    if ((gt < 0) | (gt >= num_classes) | (pred < 0)
            | (pred >= num_classes)).any():
        raise ValueError('confusion_matrix: class ids outside '
                         f'[0, {num_classes})')
    return torch.bincount(
        gt * num_classes + pred,
        minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_per_class(cm: Tensor) -> Tensor:
    """Intersection over union of each class from a confusion matrix.

    Returns:
        Tensor: float64 ``(K,)``; NaN for a class that appears neither in
        the ground truth nor in the predictions.
    """
    cm = cm.double()
    inter = cm.diag()
    union = cm.sum(0) + cm.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp_min(1),
                       torch.full_like(inter, float('nan')))


def mean_iou(cm: Tensor) -> float:
    """Mean IoU in percent over the classes with a defined IoU."""
    iou = iou_per_class(cm)
    iou = iou[~torch.isnan(iou)]
    if iou.numel() == 0:
        raise ValueError('mean_iou: the confusion matrix is empty')
    return iou.mean().item() * 100


def foreground_iou(cm: Tensor, background: int = 0) -> float:
    """IoU (percent) of "any object" vs background: all classes but
    ``background`` merged into one, from a ``(K, K)`` confusion matrix
    (rows = ground truth). Measures whether the features separate objects
    from background, whatever their class."""
    cm = cm.double()
    fg = torch.ones(cm.shape[0], dtype=torch.bool)
    fg[background] = False
    inter = cm[fg][:, fg].sum()
    union = cm[fg].sum() + cm[:, fg].sum() - inter
    if union <= 0:
        raise ValueError('foreground_iou: no foreground in gt or prediction')
    return (inter / union).item() * 100


@torch.no_grad()
def predict_segmentation(probe: nn.Module, feats: Tensor, size: int) -> Tensor:
    """Per-pixel class ids ``(N, size, size)`` from patch features
    ``(N, C, h, w)`` through a per-patch linear ``probe``."""
    n, c, h, w = feats.shape
    preds = []
    for i in range(0, n, 64):
        f = feats[i:i + 64]
        flat = f.permute(0, 2, 3, 1).reshape(-1, c)
        logits = probe(flat).reshape(f.shape[0], h, w, -1)
        logits = upsample_logits(logits.permute(0, 3, 1, 2), size)
        preds.append(logits.argmax(1))
    return torch.cat(preds)


def dense_linear_probe(train_feats: Tensor,
                       train_seg: Tensor,
                       test_feats: Tensor,
                       test_seg: Tensor,
                       num_classes: int,
                       epochs: int = 20,
                       lr: float = 1e-2,
                       weight_decay: float = 1e-4,
                       ignore_index: int = 255,
                       seed: int = 0,
                       probe: Optional[nn.Module] = None) -> Dict[str, object]:
    """Fit a per-patch linear segmentation probe and evaluate its mIoU.

    Args:
        train_feats (Tensor): ``(N, C, h, w)`` frozen patch features.
        train_seg (Tensor): ``(N, H, W)`` class maps (``H = p * h``).
        test_feats (Tensor): ``(M, C, h, w)`` held-out patch features.
        test_seg (Tensor): ``(M, H, W)`` held-out class maps.
        num_classes (int): Classes including background.
        epochs (int): Probe epochs over the training patches. Defaults
            to 20.
        lr (float): Probe learning rate. Defaults to 1e-2.
        weight_decay (float): Probe weight decay. Defaults to 1e-4.
        ignore_index (int): Ignored label. Defaults to 255.
        seed (int): Probe seed. Defaults to 0.
        probe (nn.Module, optional): An already fitted probe (skip
            fitting).

    Returns:
        dict: ``mIoU`` (percent), ``fgIoU`` (objects vs background,
        percent), ``aAcc`` (pixel accuracy, percent),
        ``IoU`` (``(K,)`` tensor, NaN where undefined), ``probe``.
    """
    if train_feats.dim() != 4 or test_feats.dim() != 4:
        raise ValueError('dense_linear_probe: features must be (N, C, h, w)')
    n, c, h, w = train_feats.shape
    size = train_seg.shape[-1]
    if size % w or train_seg.shape[-2] != size or h != w:
        raise ValueError(f'dense_linear_probe: a {h}x{w} patch grid does not '
                         f'tile {tuple(train_seg.shape[-2:])} pixel maps')
    if probe is None:
        dist = patch_label_distribution(train_seg, size // w, num_classes,
                                        ignore_index)
        flat_t = dist.reshape(-1, num_classes)
        flat_f = train_feats.permute(0, 2, 3, 1).reshape(-1, c)
        keep = flat_t.sum(1) > 0
        probe = fit_linear_probe(
            flat_f[keep],
            flat_t[keep],
            num_classes,
            epochs=epochs,
            lr=lr,
            weight_decay=weight_decay,
            seed=seed)
    pred = predict_segmentation(probe, test_feats, test_seg.shape[-1])
    cm = confusion_matrix(pred, test_seg, num_classes, ignore_index)
    return dict(
        mIoU=mean_iou(cm),
        fgIoU=foreground_iou(cm),
        aAcc=(cm.diag().sum() / cm.sum().clamp_min(1)).item() * 100,
        IoU=iou_per_class(cm),
        probe=probe)


__all__ = [
    'patch_label_distribution', 'extract_patch_features', 'upsample_logits',
    'confusion_matrix', 'iou_per_class', 'mean_iou', 'foreground_iou',
    'predict_segmentation', 'dense_linear_probe'
]
