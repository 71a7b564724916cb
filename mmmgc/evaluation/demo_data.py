"""Images of the embedded data set for the evaluation and picture tools:
Fashion-MNIST scenes and labelled single items (uint8 BGR, as the datasets
give them), two MGC views of an image, and the normalised network input.

The items and scenes are made by the generators that belong to the
pretraining data set (:data:`EVAL_GENERATORS`), so that an evaluation sees
the distribution its backbone was pretrained on."""
from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

#: ImageNet mean and std (RGB, 0-255): the fallback when a config has no
#: data preprocessor.
DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)

#: The evaluation data of each pretraining data set (``train_dataloader.
#: dataset.type``): the names, in ``mmmgc.datasets``, of its generators of
#: labelled single items and of scenes with class maps.
EVAL_GENERATORS = {
    'FashionMNISTScenes': ('make_items', 'make_scenes'),
    'TexturedFashionMNISTScenes':
    ('make_textured_items', 'make_textured_scenes'),
}
DEFAULT_DATASET = 'FashionMNISTScenes'


def eval_dataset_of(cfg) -> str:
    """The key of :data:`EVAL_GENERATORS` for a pretraining config: its
    ``train_dataloader.dataset.type`` (inside a dataset wrapper's
    ``dataset`` when there is one) when that data set has generators,
    otherwise (an image folder, no train data) the default data set."""
    ds = (cfg.get('train_dataloader', None) or {}).get('dataset', None)
    while isinstance(ds, dict) and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']
    name = ds.get('type') if isinstance(ds, dict) else None
    return name if name in EVAL_GENERATORS else DEFAULT_DATASET


def eval_generator(dataset: str, kind: str) -> Callable:
    """The ``kind`` (``'items'`` or ``'scenes'``) generator of the
    pretraining data set type ``dataset`` (see :data:`EVAL_GENERATORS`)."""
    if kind not in ('items', 'scenes'):
        raise ValueError(f"kind must be 'items' or 'scenes', got {kind!r}")
    if dataset not in EVAL_GENERATORS:
        raise ValueError(f'train_dataloader.dataset.type={dataset!r} has no '
                         f'evaluation data; known: {list(EVAL_GENERATORS)}')
    from .. import datasets
    name = EVAL_GENERATORS[dataset][kind == 'scenes']
    fn = getattr(datasets, name, None)
    if fn is None:
        raise ValueError(f'train_dataloader.dataset.type={dataset!r}: '
                         f'mmmgc.datasets has no {name}')
    return fn


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


def demo_scenes(num: int,
                size: int = 64,
                seed: int = 0,
                split: str = 'test',
                dataset: str = DEFAULT_DATASET
                ) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` Fashion-MNIST scenes (uint8 BGR) and class maps, made as
    the pretraining data set ``dataset`` makes them."""
    from ..datasets import load_fashion_mnist
    make_scenes = eval_generator(dataset, 'scenes')
    images, labels = load_fashion_mnist(split=split)
    return make_scenes(images, labels, num, canvas=size, seed=seed)


def demo_items(num: int,
               size: int = 64,
               seed: int = 0,
               split: str = 'test',
               dataset: str = DEFAULT_DATASET
               ) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` single-item Fashion-MNIST images (uint8 BGR) and labels,
    made as the pretraining data set ``dataset`` makes its items."""
    from ..datasets import load_fashion_mnist
    make_items = eval_generator(dataset, 'items')
    images, labels = load_fashion_mnist(split=split)
    return make_items(images, labels, num, canvas=size, seed=seed)


def labelled_items(split: str,
                   num: int,
                   size: int,
                   seed: int,
                   mean: Sequence[float],
                   std: Sequence[float],
                   dataset: str = DEFAULT_DATASET) -> Tuple[Tensor, Tensor]:
    """``num`` single-item images of Fashion-MNIST ``split`` (see
    :func:`demo_items`) as normalised network input ``(num, 3, size,
    size)`` and their int64 labels (the kNN sets of
    :func:`~mmmgc.evaluation.knn_on_items` and the demo report)."""
    imgs, labs = demo_items(
        num, size=size, seed=seed, split=split, dataset=dataset)
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
    'DEFAULT_MEAN', 'DEFAULT_STD', 'EVAL_GENERATORS', 'DEFAULT_DATASET',
    'eval_dataset_of', 'eval_generator', 'to_input', 'demo_scenes',
    'demo_items', 'labelled_items', 'make_views'
]
