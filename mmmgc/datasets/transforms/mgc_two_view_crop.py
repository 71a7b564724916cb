"""Two random resized crops of one image that record their geometry (MGC).

mmpretrain's ``MultiView`` drops everything but the pixels; MGC needs each
view's crop box and flip to compute its correspondence targets. This
transform makes both views and records, per sample:

- ``view_boxes``: float32 ``(2, 4)``, each row ``(x, y, w, h)`` of a view's
  crop in ORIGINAL-image pixels;
- ``view_flips``: bool ``(2,)``, True where the view was flipped
  horizontally after cropping.

Pass them to the model with
``PackInputs(algorithm_keys=['view_boxes', 'view_flips'])``.
"""
import math
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS

from .loading import to_three_channels

Box = Tuple[int, int, int, int]


def sample_crop_box(height: int,
                    width: int,
                    scale: Sequence[float],
                    ratio: Sequence[float],
                    max_attempts: int = 10) -> Box:
    """A random resized crop box ``(x, y, w, h)`` (torchvision's rule).

    The area is drawn uniformly in ``scale`` times the image area, the
    aspect ratio log-uniformly in ``ratio``; after ``max_attempts`` misses
    it falls back to the largest central crop within ``ratio``.
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(max_attempts):
        target = area * np.random.uniform(scale[0], scale[1])
        aspect = math.exp(np.random.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            x = int(np.random.randint(0, width - w + 1))
            y = int(np.random.randint(0, height - h + 1))
            return x, y, w, h
    in_ratio = width / height
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def box_iou(a: Box, b: Box) -> float:
    """IoU of two ``(x, y, w, h)`` boxes."""
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@TRANSFORMS.register_module()
class MGCTwoViewCrop(BaseTransform):
    """Two random resized crops + flips, each with its own photometric
    pipeline, with the geometry recorded for the correspondence targets.

    Grayscale (2-D), single-channel, BGRA and PIL (palette, RGBA, ...)
    inputs are first brought to 3-channel BGR.

    Required Keys:

    - img

    Modified Keys:

    - img (a list of the two views)
    - img_shape

    Added Keys:

    - view_boxes (np.float32, (2, 4)): ``(x, y, w, h)`` per view, original
      pixels
    - view_flips (np.bool_, (2,)): horizontal flip per view

    Args:
        size (int): Output side of each view. Defaults to 224.
        scale (Sequence[float]): Crop area range (fraction of the image).
            Defaults to (0.08, 1.0) (MGC Table 8).
        ratio (Sequence[float]): Crop aspect-ratio range. Defaults to
            (3 / 4, 4 / 3).
        flip_prob (float): Horizontal-flip probability per view. Defaults
            to 0.5.
        min_overlap (float): Re-sample view 2 until its IoU with view 1 is
            at least this (the public code uses 0.2; 0 disables). Defaults
            to 0.0 (the paper does not re-sample).
        max_tries (int): Re-samples of view 2 before keeping the candidate
            with the highest IoU. Defaults to 100.
        interpolation (str): Resize interpolation. Defaults to
            ``'bilinear'``.
        backend (str): ``'cv2'`` or ``'pillow'``. Defaults to ``'cv2'``.
        view_pipelines (Sequence[Sequence[dict]]): Two lists of photometric
            transforms, one per view, applied after crop and flip. Defaults
            to no transform.
    """

    def __init__(self,
                 size: int = 224,
                 scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3. / 4., 4. / 3.),
                 flip_prob: float = 0.5,
                 min_overlap: float = 0.0,
                 max_tries: int = 100,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2',
                 view_pipelines: Optional[Sequence[Sequence[dict]]] = None
                 ) -> None:
        if not (0 < scale[0] <= scale[1] <= 1):
            raise ValueError('MGCTwoViewCrop: scale must satisfy 0 < min <= '
                             f'max <= 1, got {scale}')
        if not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f'MGCTwoViewCrop: bad ratio {ratio}')
        if not 0 <= min_overlap < 1:
            raise ValueError('MGCTwoViewCrop: min_overlap must be in [0, 1), '
                             f'got {min_overlap}')
        if max_tries < 1:
            raise ValueError(f'MGCTwoViewCrop: max_tries must be >= 1, got '
                             f'{max_tries}')
        view_pipelines = view_pipelines or ([], [])
        if len(view_pipelines) != 2:
            raise ValueError('MGCTwoViewCrop: view_pipelines must hold two '
                             f'lists (one per view), got '
                             f'{len(view_pipelines)}')
        self.size = int(size)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.flip_prob = flip_prob
        self.min_overlap = min_overlap
        self.max_tries = max_tries
        self.interpolation = interpolation
        self.backend = backend
        # Children are looked up in mmpretrain's registry even when no
        # default scope is set (e.g. when built outside a Runner).
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            self.view_pipelines: List[Compose] = [
                Compose(list(p)) for p in view_pipelines
            ]

    def sample_boxes(self, height: int, width: int) -> Tuple[Box, Box]:
        """Both crop boxes, view 2 re-sampled for ``min_overlap``."""
        box1 = sample_crop_box(height, width, self.scale, self.ratio)
        best, best_iou = None, -1.0
        for _ in range(self.max_tries if self.min_overlap > 0 else 1):
            box2 = sample_crop_box(height, width, self.scale, self.ratio)
            iou = box_iou(box1, box2)
            if iou > best_iou:
                best, best_iou = box2, iou
            if iou >= self.min_overlap:
                break
        return box1, best

    def make_view(self, img: np.ndarray, box: Box, flip: bool, index: int,
                  results: dict) -> np.ndarray:
        x, y, w, h = box
        view = img[y:y + h, x:x + w]
        view = mmcv.imresize(
            view, (self.size, self.size),
            interpolation=self.interpolation,
            backend=self.backend)
        if flip:
            view = mmcv.imflip(view, direction='horizontal')
        sub = dict(
            img=np.ascontiguousarray(view),
            img_shape=view.shape[:2],
            ori_shape=results.get('ori_shape', img.shape[:2]))
        sub = self.view_pipelines[index](sub)
        return sub['img']

    def transform(self, results: dict) -> dict:
        img = to_three_channels(results['img'])
        height, width = img.shape[:2]
        boxes = self.sample_boxes(height, width)
        flips = [bool(np.random.rand() < self.flip_prob) for _ in range(2)]
        results['img'] = [
            self.make_view(img, boxes[i], flips[i], i, results)
            for i in range(2)
        ]
        results['img_shape'] = (self.size, self.size)
        results['view_boxes'] = np.asarray(boxes, dtype=np.float32)
        results['view_flips'] = np.asarray(flips, dtype=np.bool_)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'scale={self.scale}, ratio={self.ratio}, '
                f'flip_prob={self.flip_prob}, '
                f'min_overlap={self.min_overlap}, '
                f'view_pipelines={self.view_pipelines})')


__all__ = ['MGCTwoViewCrop', 'sample_crop_box', 'box_iou']
