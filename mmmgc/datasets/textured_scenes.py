"""Textured Fashion-MNIST scenes: the embedded data with a weaker colour
shortcut.

In :class:`FashionMNISTScenes` every item is one flat, saturated colour on
a smooth gradient, and the set of those colours marks a scene in every view
despite the papers' colour jitter. Here

- the background is a patchwork of 1-4 regions (split by 0-2 random
  straight cuts), each a random crop (zoom 1-3x, flip, quarter turn) of a
  natural photograph or texture, in its own colours, then blurred (out of
  focus) and dimmed;
- every item gets its own texture and colours: a crop of another
  photograph or texture, brightness-normalised, its texture contrast
  reduced, shaded by the Fashion-MNIST item's grey levels, which also give
  its shape (opacity);
- items vary in count (1-5 by default) and scale (log-uniform).

Colours are those of a few photographs, so they are shared by many scenes,
and they change from one part of a scene to another (measured against the
old scenes by :mod:`mmmgc.evaluation.shortcut_check`).

The photographs and textures are the public-domain / CC0 images that
scikit-image ships in its wheel (listed, with their licences, at
:data:`TEXTURE_SOURCES`); they load offline. Generation is deterministic in
the seed and takes about a millisecond per scene.

:class:`TexturedFashionMNISTScenes` (unlabeled scenes with per-pixel class
maps: 0 background, 1..10 item class) and :class:`TexturedFashionMNISTItems`
(one centred item per image, on the same kind of background, with its
class) mirror :class:`FashionMNISTScenes` and :class:`FashionMNISTItems`.
"""
import functools
from typing import Optional, Tuple

import numpy as np
from mmpretrain.registry import DATASETS

from .fashion_mnist import FashionMNISTItems, FashionMNISTScenes

#: scikit-image's bundled images used as textures (loader names in
#: ``skimage.data``; the files ship in the wheel). Licences, as the
#: loaders' docstrings state them (scikit-image 0.26): astronaut (NASA,
#: public domain), chelsea (CC0, Stefan van der Walt), coffee (CC0, Rachel
#: Michetti), rocket (SpaceX, public domain), hubble_deep_field (NASA,
#: public domain), immunohistochemistry (no known copyright restrictions),
#: retina (Wikimedia Commons, CC0 1.0), brick (CC0Textures, CC0), grass
#: (DeviantArt "Grass 01", CC0), gravel (CC0Textures, CC0).
TEXTURE_SOURCES = ('astronaut', 'chelsea', 'coffee', 'rocket',
                   'hubble_deep_field', 'immunohistochemistry', 'retina',
                   'brick', 'grass', 'gravel')


@functools.lru_cache(maxsize=4)
def load_texture_pool(side: int = 256) -> Tuple[np.ndarray, ...]:
    """The images of :data:`TEXTURE_SOURCES` as float32 RGB ``(H, W, 3)`` in
    ``[0, 255]``, resized (area) so that the short side is ``side``. Grey
    textures are repeated to three channels. Cached per ``side``."""
    import cv2
    try:
        from skimage import data as skdata
    except ImportError as e:  # pragma: no cover - installation problem
        raise ImportError(
            'TexturedFashionMNISTScenes needs scikit-image (its bundled '
            'photographs are the textures): pip install -c '
            'requirements/constraints.txt scikit-image') from e
    pool = []
    for name in TEXTURE_SOURCES:
        img = np.asarray(getattr(skdata, name)())
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = img[..., :3].astype(np.float32)
        if img.max() <= 1.0:
            img = img * 255.0
        h, w = img.shape[:2]
        f = side / min(h, w)
        size = (max(side, int(round(w * f))), max(side, int(round(h * f))))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        pool.append(np.ascontiguousarray(img))
    return tuple(pool)


#: Rendering constants: background blur sigma at 64 px (scaled with the
#: canvas) and brightness factor; source pixels per item pixel, item
#: brightness (mean luminance / 255), the factor on the item texture's
#: deviations from its mean colour, and the item's darkest shading (where
#: its grey level is 0). Chosen so that a random-init tiny ViT's probes
#: find the items about as well as on FashionMNISTScenes (docs/benchmarks.md,
#: "Textured scenes").
BACKGROUND_BLUR = (0.8, 2.0)
BACKGROUND_DIM = (0.25, 0.55)
ITEM_ZOOM = (0.5, 1.5)
ITEM_BRIGHTNESS = (0.5, 0.85)
ITEM_TEXTURE_CONTRAST = 0.35
ITEM_SHADING = 0.1
_LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)


def texture_patch(pool: Tuple[np.ndarray, ...],
                  rng: np.random.Generator,
                  side: int,
                  zoom: Tuple[float, float] = (1.0, 3.0),
                  brightness: Optional[Tuple[float,
                                             float]] = None) -> np.ndarray:
    """A ``(side, side, 3)`` float32 RGB patch in [0, 255] with the
    source's own colours: a random crop of ``zoom * side`` source pixels of
    a random pool image, resized to ``side``, randomly flipped and turned a
    quarter turn. With ``brightness = (lo, hi)`` the patch is scaled so
    that its mean luminance is ``U(lo, hi) * 255`` (so that dark sources,
    such as the deep field, still show their texture)."""
    import cv2
    src = pool[int(rng.integers(len(pool)))]
    h, w = src.shape[:2]
    crop = int(round(side * rng.uniform(*zoom)))
    crop = max(2, min(crop, h, w))
    y0 = int(rng.integers(0, h - crop + 1))
    x0 = int(rng.integers(0, w - crop + 1))
    patch = cv2.resize(
        src[y0:y0 + crop, x0:x0 + crop], (side, side),
        interpolation=cv2.INTER_AREA if crop > side else cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    patch = np.ascontiguousarray(np.rot90(patch, int(rng.integers(4))))
    if brightness is not None:
        lum = float((patch @ _LUMA).mean())
        gain = rng.uniform(*brightness) * 255.0 / (lum + 10.0)
        patch = np.clip(patch * gain, 0.0, 255.0)
    return patch


def textured_background(pool: Tuple[np.ndarray, ...],
                        rng: np.random.Generator,
                        size: int,
                        max_cuts: int = 2) -> np.ndarray:
    """A ``(size, size, 3)`` float32 RGB patchwork: ``0..max_cuts`` random
    straight cuts split the canvas into up to ``2 ** max_cuts`` regions,
    each filled with its own :func:`texture_patch`."""
    bg = texture_patch(pool, rng, size)
    cuts = int(rng.integers(0, max_cuts + 1))
    if cuts == 0:
        return bg
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    region = np.zeros((size, size), np.int64)
    for c in range(cuts):
        angle = rng.uniform(0, np.pi)
        py, px = rng.uniform(0.25, 0.75, 2)
        side = (xx - px) * np.cos(angle) + (yy - py) * np.sin(angle) > 0
        region += side.astype(np.int64) << c
    for r in range(1, 2**cuts):
        mask = region == r
        if mask.any():
            patch = texture_patch(pool, rng, size)
            bg[mask] = patch[mask]
    return bg


def render_textured_scene(items: np.ndarray,
                          labels: np.ndarray,
                          canvas: int,
                          rng: np.random.Generator,
                          scale: Tuple[float, float],
                          pool: Tuple[np.ndarray, ...],
                          centered: bool = False,
                          return_background: bool = False):
    """Paste textured items, each with its own texture crop, onto a
    textured background.

    Args:
        items (np.ndarray): uint8 ``(K, 28, 28)`` item images.
        labels (np.ndarray): ``(K,)`` class indices (0..9).
        canvas (int): Output side in pixels.
        rng (np.random.Generator): Randomness (seeded by the caller).
        scale (tuple): Item side as a fraction of the canvas (min, max),
            drawn log-uniformly.
        pool (tuple): Texture images (:func:`load_texture_pool`).
        centered (bool): Centre a single item (for item images).
        return_background (bool): Also return the float32 RGB background
            before the items were pasted (for tests).

    Returns:
        tuple: ``img`` uint8 ``(canvas, canvas, 3)`` in BGR order (as mmcv
        loads images) and ``seg`` uint8 ``(canvas, canvas)``: 0 for
        background, ``label + 1`` where an item is at least half opaque
        (later items occlude earlier ones); then the background if asked.
    """
    import cv2
    img = textured_background(pool, rng, canvas)
    # out of focus, as the background of a photograph
    sigma = canvas / 64.0 * rng.uniform(*BACKGROUND_BLUR)
    img = cv2.GaussianBlur(img, (0, 0), sigma) * rng.uniform(*BACKGROUND_DIM)
    background = img.copy() if return_background else None
    seg = np.zeros((canvas, canvas), np.uint8)
    lo, hi = np.log(scale[0]), np.log(scale[1])
    for item, label in zip(items, labels):
        side = int(round(canvas * np.exp(rng.uniform(lo, hi))))
        side = max(8, min(canvas, side))
        grey = cv2.resize(
            item, (side, side),
            interpolation=cv2.INTER_LINEAR).astype(np.float32)
        grey /= max(float(grey.max()), 1.0)
        alpha = np.clip((grey - 0.02) * 5.0, 0.0, 1.0)
        if centered:
            y0 = x0 = (canvas - side) // 2
        else:
            y0 = int(rng.integers(0, canvas - side + 1))
            x0 = int(rng.integers(0, canvas - side + 1))
        tex = texture_patch(pool, rng, side, ITEM_ZOOM, ITEM_BRIGHTNESS)
        mean = tex.mean((0, 1), keepdims=True)
        tex = mean + ITEM_TEXTURE_CONTRAST * (tex - mean)
        look = tex * (ITEM_SHADING + (1 - ITEM_SHADING) * grey)[..., None]
        a = alpha[..., None]
        region = img[y0:y0 + side, x0:x0 + side]
        img[y0:y0 + side, x0:x0 + side] = region * (1 - a) + look * a
        seg[y0:y0 + side, x0:x0 + side][alpha >= 0.5] = label + 1
    out = np.clip(img[..., ::-1], 0, 255).round().astype(np.uint8)
    if return_background:
        return out, seg, background
    return out, seg


def make_textured_scenes(images: np.ndarray,
                         labels: np.ndarray,
                         num: int,
                         canvas: int = 64,
                         items_per_scene: Tuple[int, int] = (1, 5),
                         scale: Tuple[float, float] = (0.25, 0.6),
                         seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` textured multi-object scenes (uint8 BGR ``(num, H, W, 3)``)
    and their per-pixel class maps (``(num, H, W)``), deterministic in
    ``seed``."""
    pool = load_texture_pool()
    rng = np.random.default_rng(seed)
    imgs = np.empty((num, canvas, canvas, 3), np.uint8)
    segs = np.empty((num, canvas, canvas), np.uint8)
    lo, hi = items_per_scene
    for i in range(num):
        k = int(rng.integers(lo, hi + 1))
        idx = rng.integers(0, len(images), k)
        imgs[i], segs[i] = render_textured_scene(images[idx], labels[idx],
                                                 canvas, rng, scale, pool)
    return imgs, segs


def make_textured_items(images: np.ndarray,
                        labels: np.ndarray,
                        num: int,
                        canvas: int = 64,
                        scale: Tuple[float, float] = (0.6, 0.8),
                        seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` single centred textured items on textured backgrounds and
    their labels (a random subset of the source, without repetition),
    deterministic in ``seed``."""
    pool = load_texture_pool()
    rng = np.random.default_rng(seed)
    num = min(num, len(images))
    idx = rng.permutation(len(images))[:num]
    imgs = np.empty((num, canvas, canvas, 3), np.uint8)
    for j, i in enumerate(idx):
        imgs[j], _ = render_textured_scene(
            images[i:i + 1],
            labels[i:i + 1],
            canvas,
            rng,
            scale,
            pool,
            centered=True)
    return imgs, labels[idx]


@DATASETS.register_module()
class TexturedFashionMNISTScenes(FashionMNISTScenes):
    """Unlabeled textured multi-object scenes (see the module docstring).
    Each sample has ``img`` (uint8 BGR) and ``gt_seg_map``. The arguments
    are those of :class:`FashionMNISTScenes`, with other defaults:
    ``items_per_scene=(1, 5)`` and ``item_scale=(0.25, 0.6)`` (item side /
    canvas side, log-uniform)."""

    def __init__(self,
                 *args,
                 items_per_scene: Tuple[int, int] = (1, 5),
                 item_scale: Tuple[float, float] = (0.25, 0.6),
                 **kwargs) -> None:
        super().__init__(
            *args,
            items_per_scene=items_per_scene,
            item_scale=item_scale,
            **kwargs)

    def generate(self, images: np.ndarray,
                 labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        return make_textured_scenes(images, labels, self.num_samples,
                                    self.img_size, self.items_per_scene,
                                    self.item_scale, self.seed)


@DATASETS.register_module()
class TexturedFashionMNISTItems(FashionMNISTItems):
    """Labeled single textured items on textured backgrounds; the arguments
    are those of :class:`FashionMNISTItems`."""

    def generate(self, images: np.ndarray,
                 labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        return make_textured_items(images, labels, self.num_samples,
                                   self.img_size, self.item_scale, self.seed)
