"""Images of the embedded data set for the evaluation and picture tools:
Fashion-MNIST scenes and labelled single items (uint8 BGR, as the datasets
give them), two MGC views of an image, and the normalised network input."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

#: ImageNet mean and std (RGB, 0-255): the fallback when a config has no
#: data preprocessor.
DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)


def to_input(images_bgr: np.ndarray,
             mean: Sequence[float] = DEFAULT_MEAN,
             std: Sequence[float] = DEFAULT_STD) -> Tensor:
    """uint8 BGR ``(N, H, W, 3)`` (or one ``(H, W, 3)`` image) ->
    normalised RGB float ``(N, 3, H, W)`` (what
    ``SelfSupDataPreprocessor(to_rgb=True)`` feeds the backbone)."""
    if images_bgr.ndim == 3:
        images_bgr = images_bgr[None]
    x = torch.from_numpy(np.ascontiguousarray(images_bgr[..., ::-1]))
    x = x.permute(0, 3, 1, 2).float()
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - m) / s


def demo_scenes(num: int, size: int = 64, seed: int = 0,
                split: str = 'test') -> Tuple[np.ndarray, np.ndarray]:
    """``num`` Fashion-MNIST scenes (uint8 BGR) and class maps."""
    from ..datasets import load_fashion_mnist, make_scenes
    images, labels = load_fashion_mnist(split=split)
    return make_scenes(images, labels, num, canvas=size, seed=seed)


def demo_items(num: int, size: int = 64, seed: int = 0,
               split: str = 'test') -> Tuple[np.ndarray, np.ndarray]:
    """``num`` single-item Fashion-MNIST images (uint8 BGR) and labels."""
    from ..datasets import load_fashion_mnist, make_items
    images, labels = load_fashion_mnist(split=split)
    return make_items(images, labels, num, canvas=size, seed=seed)


def labelled_items(split: str, num: int, size: int, seed: int,
                   mean: Sequence[float],
                   std: Sequence[float]) -> Tuple[Tensor, Tensor]:
    """``num`` single-item images of Fashion-MNIST ``split`` as normalised
    network input ``(num, 3, size, size)`` and their int64 labels (the kNN
    sets of :func:`~mmmgc.evaluation.knn_on_items`)."""
    imgs, labs = demo_items(num, size=size, seed=seed, split=split)
    return to_input(imgs, mean, std), torch.from_numpy(labs)


def make_views(img: np.ndarray, size: int, scale: Sequence[float],
               min_overlap: float,
               seed: int) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray]:
    """Two views of ``img`` (uint8 BGR) by ``MGCTwoViewCrop``, drawn with
    numpy seed ``seed`` (the global numpy state is restored after).

    Returns:
        tuple: ``views`` (two uint8 ``(size, size, 3)``), ``boxes``
        float32 ``(2, 4)`` ``(x, y, w, h)`` and ``flips`` bool ``(2,)``.
    """
    from ..datasets.transforms import MGCTwoViewCrop
    crop = MGCTwoViewCrop(size=size, scale=scale, min_overlap=min_overlap)
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        out = crop.transform(dict(img=img, ori_shape=img.shape[:2]))
    finally:
        np.random.set_state(state)
    return out['img'], out['view_boxes'], out['view_flips']


__all__ = [
    'DEFAULT_MEAN', 'DEFAULT_STD', 'to_input', 'demo_scenes', 'demo_items',
    'labelled_items', 'make_views'
]
