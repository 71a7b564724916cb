"""Mugs' multi-crop with weak (teacher) and strong (student) augmentation,
appendix B.1.1 of the paper."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS

# ImageNet statistics in BGR order (images are BGR uint8 here).
_BGR_MEAN = (103.53, 116.28, 123.675)
_BGR_STD = (57.375, 57.12, 58.395)


@TRANSFORMS.register_module()
class MugsMultiCrop(BaseTransform):
    """Teacher global crops, student global crops and student local crops.

    Weak augmentation (DINO): random resized crop, horizontal flip, colour
    jitter (p 0.8), grayscale (p 0.2), Gaussian blur (global crop 1:
    always, global crop 2: p 0.1, local crops: p 0.5; sigma drawn per call
    in ``blur_sigma``), solarisation (global crop 2: p 0.2). The teacher's
    crops are always weak.

    Strong augmentation (student only): horizontal flip, RandAugment on the
    full image before cropping, random resized crop, random erasing. Both
    student global crops are strong together with probability
    ``strong_prob`` (else weak, and the image is flagged weak: key
    ``mugs_weak``); each local crop is strong independently with
    probability ``strong_prob``.

    mmpretrain's own transforms are used: ``RandomResizedCrop``,
    ``RandomFlip``, ``ColorJitter``, ``RandomGrayscale``, ``GaussianBlur``,
    ``Solarize``, ``RandAugment`` and ``RandomErasing``. Where they differ
    from the released code (timm's RandAugment / RandomErasing on PIL
    images and normalised tensors):

    - ``RandAugment(policies='timm_increasing', num_policies=2,
      magnitude_level=9, magnitude_std=0.5)`` is timm's
      ``rand-m9-mstd0.5-inc1`` (ops drawn with replacement, each applied
      with p 0.5, magnitude ~ N(9, 0.5) clipped to [0, 10]); it works on
      BGR uint8 images, so the fill value is the BGR ImageNet mean.
    - timm erases in the normalised tensor with N(0, 1) noise per pixel
      (``mode='pixel'``); mmpretrain erases in the uint8 image with
      N(mean, std) noise per pixel (``mode='rand'`` + ``fill_std``), which
      is the same distribution except for the clipping to [0, 255].

    Required Keys:

    - img

    Modified Keys:

    - img (becomes a list: teacher globals, student globals, locals)
    - img_shape

    Added Keys:

    - mugs_weak (bool): the student global crops are weakly augmented.

    Args:
        num_global_crops (int): Global crops for the teacher (and as many
            for the student). Defaults to 2.
        global_size (int): Defaults to 224.
        global_scale (tuple): Area range of global crops. Defaults to
            (0.25, 1.0).
        num_local_crops (int): Student local crops. Defaults to 10.
        local_size (int): Defaults to 96.
        local_scale (tuple): Defaults to (0.05, 0.25).
        strong_prob (float): Probability of strong augmentation for the
            student. 0 gives weak augmentation only. Defaults to 0.5.
        share_global_crops (bool): The student's global crops are the
            teacher's (the "vanilla weak augmentation" switch) instead of
            fresh crops. Defaults to False.
        color_jitter (tuple): Brightness, contrast, saturation, hue.
            Defaults to (0.4, 0.4, 0.2, 0.1).
        color_jitter_prob (float): Defaults to 0.8.
        grayscale_prob (float): Defaults to 0.2.
        blur_sigma (tuple): Defaults to (0.1, 2.0).
        global_blur_probs (tuple): One per global crop (cycled). Defaults
            to (1.0, 0.1).
        global_solarize_probs (tuple): One per global crop (cycled).
            Defaults to (0.0, 0.2).
        local_blur_prob (float): Defaults to 0.5.
        randaugment (dict, optional): Strong-branch RandAugment config.
            Defaults to timm's ``rand-m9-mstd0.5-inc1`` (see above).
        random_erasing (dict, optional): Strong-branch erasing config.
            Defaults to p 0.25, area 0.02-1/3, per-pixel N(mean, std).
        interpolation (str): Crop resize interpolation. Defaults to
            ``'bicubic'``.
    """

    def __init__(self,
                 num_global_crops: int = 2,
                 global_size: int = 224,
                 global_scale: Tuple[float, float] = (0.25, 1.0),
                 num_local_crops: int = 10,
                 local_size: int = 96,
                 local_scale: Tuple[float, float] = (0.05, 0.25),
                 strong_prob: float = 0.5,
                 share_global_crops: bool = False,
                 color_jitter: Sequence[float] = (0.4, 0.4, 0.2, 0.1),
                 color_jitter_prob: float = 0.8,
                 grayscale_prob: float = 0.2,
                 blur_sigma: Tuple[float, float] = (0.1, 2.0),
                 global_blur_probs: Sequence[float] = (1.0, 0.1),
                 global_solarize_probs: Sequence[float] = (0.0, 0.2),
                 local_blur_prob: float = 0.5,
                 randaugment: Optional[dict] = dict(
                     type='RandAugment',
                     policies='timm_increasing',
                     num_policies=2,
                     magnitude_level=9,
                     magnitude_std=0.5,
                     hparams=dict(pad_val=[round(x) for x in _BGR_MEAN])),
                 random_erasing: Optional[dict] = dict(
                     type='RandomErasing',
                     erase_prob=0.25,
                     mode='rand',
                     min_area_ratio=0.02,
                     max_area_ratio=1 / 3,
                     fill_color=_BGR_MEAN,
                     fill_std=_BGR_STD),
                 interpolation: str = 'bicubic') -> None:
        if num_global_crops < 1 or num_local_crops < 0:
            raise ValueError('MugsMultiCrop: need num_global_crops >= 1 and '
                             f'num_local_crops >= 0, got {num_global_crops}'
                             f', {num_local_crops}')
        if not 0 <= strong_prob <= 1:
            raise ValueError('MugsMultiCrop: strong_prob must be in [0, 1], '
                             f'got {strong_prob}')
        self.num_global_crops = num_global_crops
        self.num_local_crops = num_local_crops
        self.strong_prob = strong_prob
        self.share_global_crops = share_global_crops

        def crop(size, scale):
            return dict(
                type='RandomResizedCrop',
                scale=size,
                crop_ratio_range=tuple(scale),
                aspect_ratio_range=(3 / 4, 4 / 3),
                interpolation=interpolation,
                backend='pillow')

        b, c, s, h = color_jitter
        photometric = [
            dict(type='RandomFlip', prob=0.5),
            dict(
                type='RandomApply',
                transforms=[
                    dict(
                        type='ColorJitter',
                        brightness=b,
                        contrast=c,
                        saturation=s,
                        hue=h)
                ],
                prob=color_jitter_prob),
            dict(
                type='RandomGrayscale',
                prob=grayscale_prob,
                keep_channels=True,
                channel_weights=(0.114, 0.587, 0.2989)),
        ]

        def blur(prob):
            return [
                dict(
                    type='GaussianBlur',
                    magnitude_range=blur_sigma,
                    magnitude_std='inf',
                    prob=prob)
            ] if prob > 0 else []

        def solarize(prob):
            return [dict(type='Solarize', thr=128, prob=prob)] \
                if prob > 0 else []

        self.weak_global: List[Compose] = []
        for i in range(num_global_crops):
            pb = global_blur_probs[i % len(global_blur_probs)]
            ps = global_solarize_probs[i % len(global_solarize_probs)]
            self.weak_global.append(
                self._compose([crop(global_size, global_scale)] + photometric +
                              blur(pb) + solarize(ps)))
        self.weak_local = self._compose([crop(local_size, local_scale)] +
                                        photometric + blur(local_blur_prob))
        strong_pre = [dict(type='RandomFlip', prob=0.5)]
        if randaugment is not None:
            strong_pre.append(randaugment)
        strong_post = [random_erasing] if random_erasing is not None else []
        self.strong_global = self._compose(strong_pre +
                                           [crop(global_size, global_scale)] +
                                           strong_post)
        self.strong_local = self._compose(strong_pre +
                                          [crop(local_size, local_scale)] +
                                          strong_post)

    @staticmethod
    def _compose(cfgs: List[dict]) -> Compose:
        # nested wrappers (RandomApply) build from the current default scope
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            return Compose([TRANSFORMS.build(c) for c in cfgs])

    @staticmethod
    def _run(pipeline: Compose, img: np.ndarray) -> np.ndarray:
        out = pipeline(
            dict(
                img=img.copy(),
                img_shape=img.shape[:2],
                ori_shape=img.shape[:2]))
        return out['img']

    def _strong(self) -> bool:
        return self.strong_prob > 0 and np.random.rand() < self.strong_prob

    def transform(self, results: dict) -> dict:
        img = results['img']
        teacher = [self._run(p, img) for p in self.weak_global]
        if self.share_global_crops:
            student, weak = [t.copy() for t in teacher], True
        elif self._strong():
            student = [
                self._run(self.strong_global, img)
                for _ in range(self.num_global_crops)
            ]
            weak = False
        else:
            student = [self._run(p, img) for p in self.weak_global]
            weak = True
        local = [
            self._run(self.strong_local if self._strong() else self.weak_local,
                      img) for _ in range(self.num_local_crops)
        ]
        results['img'] = teacher + student + local
        results['img_shape'] = teacher[0].shape[:2]
        results['mugs_weak'] = weak
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_global_crops='
                f'{self.num_global_crops}, num_local_crops='
                f'{self.num_local_crops}, strong_prob={self.strong_prob}, '
                f'share_global_crops={self.share_global_crops})')
