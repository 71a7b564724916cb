"""The embedded default data: Fashion-MNIST (MIT licence), installed offline
from Debian's ``dataset-fashion-mnist`` by ``tools/install.sh``.

Two views of it are generated deterministically from a seed, in memory:

- :class:`FashionMNISTScenes`: unlabeled multi-object scenes (items tinted
  with random colours, pasted at random scales on a textured background),
  with a per-pixel class map (0 = background, 1..10 = item class) for dense
  probes. This is what the demo pretrainings learn from: as in COCO, an
  image holds several objects, so the two crops of MGC see different parts.
- :class:`FashionMNISTItems`: one item per image (same rendering), with its
  class label, for kNN / linear probes at the image level.
"""
import gzip
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                         'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')

_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}

DEFAULT_DATA_ROOT = '~/.cache/mmmgc/data'


def default_data_root() -> str:
    """Where ``tools/install.sh`` puts the files: ``$MMMGC_DATA``, else
    ``$MMMGC_CACHE/data``, else ``~/.cache/mmmgc/data``."""
    if os.environ.get('MMMGC_DATA'):
        return osp.expanduser(os.environ['MMMGC_DATA'])
    if os.environ.get('MMMGC_CACHE'):
        return osp.join(osp.expanduser(os.environ['MMMGC_CACHE']), 'data')
    return osp.expanduser(DEFAULT_DATA_ROOT)


def _read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f'{path} is not an IDX file (bad magic number)')
    ndim = raw[3]
    dims = [
        int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)
    ]
    offset = 4 + 4 * ndim
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != int(np.prod(dims)):
        raise ValueError(f'{path} is truncated: expected {np.prod(dims)} '
                         f'values, found {data.size}')
    return data.reshape(dims)


def load_fashion_mnist(data_root: Optional[str] = None,
                       split: str = 'train') -> Tuple[np.ndarray, np.ndarray]:
    """Read Fashion-MNIST IDX files (``.gz`` or plain).

    Args:
        data_root (str, optional): Folder with the four IDX files. Defaults
            to :func:`default_data_root`.
        split (str): ``'train'`` (60,000) or ``'test'`` (10,000).

    Returns:
        tuple: ``images`` uint8 ``(N, 28, 28)`` and ``labels`` int64 ``(N,)``.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = osp.expanduser(data_root or default_data_root())
    out = []
    for name in _FILES[split]:
        for cand in (osp.join(root, name + '.gz'), osp.join(root, name)):
            if osp.isfile(cand):
                out.append(_read_idx(cand))
                break
        else:
            raise FileNotFoundError(
                f'Fashion-MNIST file {name}(.gz) not found in data_root='
                f'{root!r}. Run `bash tools/install.sh` (it installs the '
                'Debian package dataset-fashion-mnist and copies the files '
                'there) or set MMMGC_DATA.')
    images, labels = out
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f'Fashion-MNIST {split} in {root}: '
                         f'{images.shape[0]} images but {labels.shape[0]} '
                         'labels')
    return images, labels.astype(np.int64)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour gradient plus mild noise, float32 HxWx3."""
    c0, c1 = rng.uniform(0, 110, 3), rng.uniform(0, 110, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    if rng.random() < 0.5:
        g = t[None, :, None] * np.ones((size, 1, 1), np.float32)
    else:
        g = t[:, None, None] * np.ones((1, size, 1), np.float32)
    bg = c0 * (1 - g) + c1 * g
    bg += rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    return bg


def _resize_item(item: np.ndarray, side: int) -> np.ndarray:
    import cv2
    return cv2.resize(item, (side, side), interpolation=cv2.INTER_LINEAR)


def render_scene(items: np.ndarray,
                 labels: np.ndarray,
                 canvas: int,
                 rng: np.random.Generator,
                 scale: Tuple[float, float],
                 centered: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Paste grey items, tinted with random colours, onto a background.

    Args:
        items (np.ndarray): uint8 ``(K, 28, 28)`` item images.
        labels (np.ndarray): ``(K,)`` class indices (0..9).
        canvas (int): Output side in pixels.
        rng (np.random.Generator): Randomness (seeded by the caller).
        scale (tuple): Item side as a fraction of the canvas (min, max).
        centered (bool): Centre a single item (for item images).

    Returns:
        tuple: ``img`` uint8 ``(canvas, canvas, 3)`` in BGR order (as mmcv
        loads images) and ``seg`` uint8 ``(canvas, canvas)`` with 0 for
        background and ``label + 1`` where an item covers the pixel (later
        items occlude earlier ones).
    """
    img = _background(rng, canvas)
    seg = np.zeros((canvas, canvas), np.uint8)
    for item, label in zip(items, labels):
        side = int(round(canvas * rng.uniform(*scale)))
        side = max(8, min(canvas, side))
        alpha = _resize_item(item, side).astype(np.float32) / 255.0
        if centered:
            y0 = x0 = (canvas - side) // 2
        else:
            y0 = int(rng.integers(0, canvas - side + 1))
            x0 = int(rng.integers(0, canvas - side + 1))
        colour = rng.uniform(60, 255, 3).astype(np.float32)
        region = img[y0:y0 + side, x0:x0 + side]
        a = alpha[..., None]
        img[y0:y0 + side, x0:x0 + side] = region * (1 - a) + colour * a
        seg[y0:y0 + side, x0:x0 + side][alpha > 0.25] = label + 1
    return np.clip(img, 0, 255).astype(np.uint8), seg


def make_scenes(images: np.ndarray,
                labels: np.ndarray,
                num: int,
                canvas: int = 64,
                items_per_scene: Tuple[int, int] = (2, 4),
                scale: Tuple[float, float] = (0.3, 0.55),
                seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` multi-object scenes (uint8 BGR ``(num, H, W, 3)``) and their
    per-pixel class maps (``(num, H, W)``), deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    imgs = np.empty((num, canvas, canvas, 3), np.uint8)
    segs = np.empty((num, canvas, canvas), np.uint8)
    lo, hi = items_per_scene
    for i in range(num):
        k = int(rng.integers(lo, hi + 1))
        idx = rng.integers(0, len(images), k)
        imgs[i], segs[i] = render_scene(images[idx], labels[idx], canvas, rng,
                                        scale)
    return imgs, segs


def make_items(images: np.ndarray,
               labels: np.ndarray,
               num: int,
               canvas: int = 64,
               scale: Tuple[float, float] = (0.6, 0.8),
               seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` single-item images (class-balanced order of the source) and
    their labels, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    num = min(num, len(images))
    idx = rng.permutation(len(images))[:num]
    imgs = np.empty((num, canvas, canvas, 3), np.uint8)
    for j, i in enumerate(idx):
        imgs[j], _ = render_scene(
            images[i:i + 1],
            labels[i:i + 1],
            canvas,
            rng,
            scale,
            centered=True)
    return imgs, labels[idx]


@DATASETS.register_module()
class FashionMNISTScenes(BaseDataset):
    """Unlabeled multi-object scenes built from Fashion-MNIST (see module
    docstring). Each sample has ``img`` (uint8 BGR) and ``gt_seg_map``.

    Args:
        data_root (str): Folder with the Fashion-MNIST IDX files. Defaults
            to ``$MMMGC_DATA`` or ``~/.cache/mmmgc/data``.
        split (str): Source items, ``'train'`` or ``'test'``.
        num_samples (int): Number of scenes. Defaults to 2000.
        img_size (int): Canvas side. Defaults to 64.
        items_per_scene (tuple): (min, max) items. Defaults to (2, 4).
        item_scale (tuple): Item side / canvas side. Defaults to
            (0.3, 0.55).
        seed (int): Generation seed. Defaults to 0.
        pipeline (list): Transforms.
        test_mode (bool): Passed to ``BaseDataset``.
    """
    METAINFO = {'classes': ('background', ) + FASHION_MNIST_CLASSES}

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 num_samples: int = 2000,
                 img_size: int = 64,
                 items_per_scene: Tuple[int, int] = (2, 4),
                 item_scale: Tuple[float, float] = (0.3, 0.55),
                 seed: int = 0,
                 pipeline: List = (),
                 test_mode: bool = False,
                 lazy_init: bool = False) -> None:
        self.split = split
        self.num_samples = num_samples
        self.img_size = img_size
        self.items_per_scene = tuple(items_per_scene)
        self.item_scale = tuple(item_scale)
        self.seed = seed
        super().__init__(
            ann_file='',
            data_root=data_root or default_data_root(),
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init)

    def generate(self, images: np.ndarray,
                 labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The scenes and their class maps, from the source items."""
        return make_scenes(images, labels, self.num_samples, self.img_size,
                           self.items_per_scene, self.item_scale, self.seed)

    def load_data_list(self) -> List[dict]:
        imgs, segs = self.generate(
            *load_fashion_mnist(self.data_root, self.split))
        return [
            dict(
                img=img,
                gt_seg_map=seg,
                sample_idx=i,
                ori_shape=img.shape[:2],
                img_shape=img.shape[:2])
            for i, (img, seg) in enumerate(zip(imgs, segs))
        ]


@DATASETS.register_module()
class FashionMNISTItems(BaseDataset):
    """Labeled single-item images built from Fashion-MNIST.

    Args:
        data_root (str): Folder with the IDX files (see
            :class:`FashionMNISTScenes`).
        split (str): ``'train'`` or ``'test'``.
        num_samples (int): Number of images. Defaults to 2000.
        img_size (int): Canvas side. Defaults to 64.
        item_scale (tuple): Item side / canvas side. Defaults to (0.6, 0.8).
        seed (int): Generation seed. Defaults to 0.
        pipeline (list): Transforms.
        test_mode (bool): Passed to ``BaseDataset``.
    """
    METAINFO = {'classes': FASHION_MNIST_CLASSES}

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 num_samples: int = 2000,
                 img_size: int = 64,
                 item_scale: Tuple[float, float] = (0.6, 0.8),
                 seed: int = 0,
                 pipeline: List = (),
                 test_mode: bool = False,
                 lazy_init: bool = False) -> None:
        self.split = split
        self.num_samples = num_samples
        self.img_size = img_size
        self.item_scale = tuple(item_scale)
        self.seed = seed
        super().__init__(
            ann_file='',
            data_root=data_root or default_data_root(),
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init)

    def generate(self, images: np.ndarray,
                 labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The single-item images and their labels, from the source
        items."""
        return make_items(images, labels, self.num_samples, self.img_size,
                          self.item_scale, self.seed)

    def load_data_list(self) -> List[dict]:
        imgs, labs = self.generate(
            *load_fashion_mnist(self.data_root, self.split))
        return [
            dict(
                img=img,
                gt_label=int(lab),
                sample_idx=i,
                ori_shape=img.shape[:2],
                img_shape=img.shape[:2])
            for i, (img, lab) in enumerate(zip(imgs, labs))
        ]
