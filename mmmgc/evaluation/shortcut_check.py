"""Does a low-level cue solve instance discrimination on a data set?

Two augmented views of each of ``N`` images are made with the papers'
augmentation; each view-1 descriptor retrieves its nearest view-2
descriptor (cosine) among the ``N``. The top-1 accuracy says how far the
descriptor alone tells the images apart across views: chance is
``100 / N`` %. Descriptors without learning:

- ``colour_hist``: joint RGB histogram (``bins`` per channel, square-root
  normalised: Hellinger / Bhattacharyya similarity);
- ``hue_autocorr``: circular autocorrelation of the chroma-weighted hue
  histogram, which the hue shift of the jitter does not change (and its
  brightness, contrast and saturation changes hardly): the relative hues of
  the colours in the view;
- ``raw_pixels``: the view area-resized to ``side x side`` RGB, each image
  standardised (mean 0, std 1) so that brightness and contrast jitter do not
  count.

If one of them reaches a high top-1, a network can solve the contrastive
pretext task with that cue alone (the colour shortcut).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch


def paper_view_pipelines(
    size: int = 64,
    crop_scale: Tuple[float, float] = (0.2, 1.0)
) -> List[List[dict]]:
    """The two views of MGC's Table 8 (BYOL's asymmetric pair, which MoCo v3
    uses too) as mmpretrain transform configs, at ``size`` px: random
    resized crop, flip 0.5, colour jitter (brightness 0.4, contrast 0.4,
    saturation 0.2, hue 0.1) with probability 0.8, grayscale 0.2, Gaussian
    blur (sigma 0.1-2.0 at 224 px, scaled to ``size``) with probability 1.0
    in view 1 and 0.1 in view 2, solarisation 0.2 in view 2 only."""
    f = size / 224.0
    common = [
        dict(
            type='RandomResizedCrop',
            scale=size,
            crop_ratio_range=tuple(crop_scale),
            backend='pillow'),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='RandomApply',
            transforms=[
                dict(
                    type='ColorJitter',
                    brightness=0.4,
                    contrast=0.4,
                    saturation=0.2,
                    hue=0.1)
            ],
            prob=0.8),
        dict(
            type='RandomGrayscale',
            prob=0.2,
            keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989)),
    ]
    blur = (0.1 * f, 2.0 * f)
    return [
        common + [
            dict(
                type='GaussianBlur',
                magnitude_std='inf',
                magnitude_range=blur,
                prob=1.0)
        ],
        common + [
            dict(
                type='GaussianBlur',
                magnitude_std='inf',
                magnitude_range=blur,
                prob=0.1),
            dict(type='Solarize', thr=128, prob=0.2)
        ],
    ]


def strong_view_pipelines(
    size: int = 64,
    crop_scale: Tuple[float, float] = (0.2, 1.0)
) -> List[List[dict]]:
    """Two identical views with the hard colour augmentation that the
    mini benchmark used against the colour shortcut of the flat scenes:
    random resized crop, flip, colour jitter (0.4, 0.4, 0.8, 0.5) always,
    grayscale 0.5."""
    view = [
        dict(
            type='RandomResizedCrop',
            scale=size,
            crop_ratio_range=tuple(crop_scale),
            backend='pillow'),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='ColorJitter',
            brightness=0.4,
            contrast=0.4,
            saturation=0.8,
            hue=0.5),
        dict(
            type='RandomGrayscale',
            prob=0.5,
            keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989)),
    ]
    return [view, list(view)]


VIEW_PIPELINES = {
    'paper': paper_view_pipelines,
    'strong': strong_view_pipelines,
}


def augment_views(imgs: np.ndarray,
                  pipelines: Sequence[Sequence[dict]],
                  seed: int = 0) -> List[np.ndarray]:
    """One view of every image per pipeline: uint8 ``(N, h, w, 3)`` each.
    The global random generators are seeded with ``seed`` for the call and
    restored afterwards."""
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import TRANSFORMS

    from mmmgc.datasets.seeded_augment import seeded_global_rng
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        composed = [
            Compose([TRANSFORMS.build(dict(t)) for t in p]) for p in pipelines
        ]
    views = [[] for _ in composed]
    with seeded_global_rng(seed):
        for img in imgs:
            for out, pipe in zip(views, composed):
                out.append(pipe(dict(img=img.copy()))['img'])
    return [np.stack(v) for v in views]


def colour_histogram(imgs: np.ndarray, bins: int = 8) -> np.ndarray:
    """Square roots of the normalised joint ``bins**3`` colour histograms
    of uint8 ``(N, h, w, 3)`` images: ``(N, bins**3)``."""
    q = (imgs.astype(np.int64) * bins) // 256
    code = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    code = code.reshape(len(imgs), -1)
    hist = np.zeros((len(imgs), bins**3), np.float64)
    np.add.at(hist, (np.arange(len(imgs))[:, None], code), 1.0)
    return np.sqrt(hist / hist.sum(1, keepdims=True))


def hue_histogram(imgs: np.ndarray, bins: int = 36) -> np.ndarray:
    """Chroma-weighted hue histograms of BGR uint8 images (each pixel adds
    its chroma ``max - min`` of RGB in [0, 1], split linearly between the
    two nearest of ``bins`` circular hue bins), normalised to sum 1:
    ``(N, bins)``."""
    import cv2
    out = np.zeros((len(imgs), bins), np.float64)
    for i, img in enumerate(imgs):
        f = img.astype(np.float64) / 255.0
        chroma = (f.max(-1) - f.min(-1)).ravel()
        hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2HSV_FULL)
        h = hsv[..., 0].astype(np.float64).ravel() * bins / 256.0
        lo = np.floor(h).astype(np.int64)
        w = h - lo
        out[i] = (
            np.bincount(lo % bins, (1 - w) * chroma, bins) + np.bincount(
                (lo + 1) % bins, w * chroma, bins))
    return out / (out.sum(1, keepdims=True) + 1e-12)


def hue_autocorrelation(imgs: np.ndarray, bins: int = 36) -> np.ndarray:
    """Square roots of the circular autocorrelation of
    :func:`hue_histogram`: unchanged by a hue rotation (the jitter's hue
    shift) and, as chroma scales evenly, about unchanged by its brightness,
    contrast and saturation changes. ``(N, bins)``."""
    spec = np.fft.fft(hue_histogram(imgs, bins), axis=1)
    ac = np.fft.ifft(spec * spec.conj(), axis=1).real
    return np.sqrt(np.clip(ac, 0.0, None))


def raw_pixels(imgs: np.ndarray, side: int = 8) -> np.ndarray:
    """Images area-resized to ``side x side``, flattened and standardised
    per image: ``(N, side * side * 3)``."""
    import cv2
    small = np.stack([
        cv2.resize(
            img.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
        for img in imgs
    ]).reshape(len(imgs), -1).astype(np.float64)
    small -= small.mean(1, keepdims=True)
    return small / (small.std(1, keepdims=True) + 1e-6)


DESCRIPTORS = {
    'colour_hist': colour_histogram,
    'hue_autocorr': hue_autocorrelation,
    'raw_pixels': raw_pixels,
}


def retrieval_top1(query: np.ndarray, keys: np.ndarray) -> float:
    """Top-1 accuracy (%) of cosine nearest-neighbour retrieval where query
    ``i`` should find key ``i``."""
    q = torch.nn.functional.normalize(
        torch.as_tensor(np.ascontiguousarray(query)).double(), dim=1)
    k = torch.nn.functional.normalize(
        torch.as_tensor(np.ascontiguousarray(keys)).double(), dim=1)
    hit = (q @ k.T).argmax(1) == torch.arange(len(q))
    return float(hit.double().mean() * 100)


def view_retrieval(imgs: np.ndarray,
                   seed: int = 0,
                   crop_scale: Tuple[float, float] = (0.2, 1.0),
                   descriptors: Sequence[str] = tuple(DESCRIPTORS),
                   augment: str = 'paper') -> Dict[str, float]:
    """Top-1 (%) of matching view 1 to view 2 of the same image among all
    ``N`` images with each descriptor, views from ``VIEW_PIPELINES[augment]``
    (:func:`paper_view_pipelines` by default); ``'chance'`` is
    ``100 / N``."""
    if augment not in VIEW_PIPELINES:
        raise ValueError(f'augment must be one of {list(VIEW_PIPELINES)}, '
                         f'got {augment!r}')
    size = imgs.shape[1]
    v1, v2 = augment_views(imgs, VIEW_PIPELINES[augment](size, crop_scale),
                           seed)
    res = {
        name: retrieval_top1(DESCRIPTORS[name](v1), DESCRIPTORS[name](v2))
        for name in descriptors
    }
    res['chance'] = 100.0 / len(imgs)
    return res
