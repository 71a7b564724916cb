"""Gaussian blur whose sigma is drawn at every call (Table 8 of MGC)."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MGCGaussianBlur(BaseTransform):
    """Blur with probability ``prob``; sigma ~ U(sigma_range) per call.

    Unlike a blur whose radius is fixed when the pipeline is built, every
    call draws a new sigma (PIL's ``GaussianBlur(radius=sigma)``, as in the
    BYOL / MoCo v3 recipes).

    Required Keys:

    - img

    Modified Keys:

    - img

    Args:
        sigma_range (Sequence[float]): ``(min, max)`` sigma in pixels of the
            image as it is at this point of the pipeline. Defaults to
            (0.1, 2.0).
        prob (float): Probability to blur. Defaults to 0.5.
    """

    def __init__(self,
                 sigma_range: Sequence[float] = (0.1, 2.0),
                 prob: float = 0.5) -> None:
        lo, hi = (float(s) for s in sigma_range)
        if not 0 <= lo <= hi:
            raise ValueError('MGCGaussianBlur: sigma_range must be (min, '
                             f'max) with 0 <= min <= max, got {sigma_range}')
        if not 0 <= prob <= 1:
            raise ValueError(f'MGCGaussianBlur: prob must be in [0, 1], got '
                             f'{prob}')
        self.sigma_range = (lo, hi)
        self.prob = prob
        self.last_sigma = None

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            self.last_sigma = None
            return results
        from PIL import Image, ImageFilter
        sigma = float(np.random.uniform(*self.sigma_range))
        self.last_sigma = sigma
        img = results['img']
        pil = Image.fromarray(img)
        out = pil.filter(ImageFilter.GaussianBlur(radius=sigma))
        results['img'] = np.asarray(out, dtype=img.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sigma_range={self.sigma_range}, '
                f'prob={self.prob})')


__all__ = ['MGCGaussianBlur']
