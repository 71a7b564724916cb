"""Helpers shared by the visualisation tools (and the CPU benchmark): build
a frozen backbone from a config (+ strict checkpoint load), turn uint8 BGR
images into normalised tensors, pick demo images, save a figure as a PNG of
an exact pixel size."""
import os
import os.path as osp
import sys
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)


def add_repo_to_path() -> None:
    """Make ``import mmmgc`` work when a tool runs from a source tree."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if root not in sys.path:
        sys.path.insert(0, root)


def build_backbone(model_cfg: dict, init: bool = True) -> nn.Module:
    """:func:`mmmgc.evaluation.build_frozen_backbone` (raw tokens, no drop
    path, ``init_weights()`` unless ``init=False``)."""
    import mmmgc  # noqa: F401  (registers our modules)
    from mmmgc.evaluation import build_frozen_backbone
    return build_frozen_backbone(model_cfg, init)


def load_backbone_strict(backbone: nn.Module, checkpoint: str,
                         prefix: str = 'backbone.') -> int:
    """:func:`mmmgc.evaluation.load_pretrained_backbone`: a missing,
    unknown or mis-shaped backbone key raises. Returns the tensor count."""
    from mmmgc.evaluation import load_pretrained_backbone
    return load_pretrained_backbone(backbone, checkpoint, prefix)


def backbone_from_config(config: str,
                         checkpoint: Optional[str] = None,
                         seed: int = 0) -> Tuple[nn.Module, dict]:
    """Build (and optionally load) the frozen backbone of ``config``.

    Returns:
        tuple: ``(backbone in eval mode, cfg)``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    backbone = build_backbone(cfg.model)
    if checkpoint:
        load_backbone_strict(backbone, checkpoint)
    backbone.eval()  # (MoCoV3ViT.train returns None: do not chain)
    return backbone, cfg


def norm_stats(cfg) -> Tuple[Sequence[float], Sequence[float]]:
    """Mean and std of the config's data preprocessor."""
    pre = cfg.model.get('data_preprocessor', None) or cfg.get(
        'data_preprocessor', None) or {}
    return (pre.get('mean', DEFAULT_MEAN), pre.get('std', DEFAULT_STD))


def to_input(images_bgr: np.ndarray,
             mean: Sequence[float] = DEFAULT_MEAN,
             std: Sequence[float] = DEFAULT_STD) -> Tensor:
    """uint8 BGR ``(N, H, W, 3)`` -> normalised RGB float ``(N, 3, H, W)``
    (what ``SelfSupDataPreprocessor(to_rgb=True)`` feeds the backbone)."""
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
    from mmmgc.datasets import load_fashion_mnist, make_scenes
    images, labels = load_fashion_mnist(split=split)
    return make_scenes(images, labels, num, canvas=size, seed=seed)


def demo_items(num: int, size: int = 64, seed: int = 0,
               split: str = 'test') -> Tuple[np.ndarray, np.ndarray]:
    """``num`` single-item Fashion-MNIST images (uint8 BGR) and labels."""
    from mmmgc.datasets import load_fashion_mnist, make_items
    images, labels = load_fashion_mnist(split=split)
    return make_items(images, labels, num, canvas=size, seed=seed)


def rgb(img_bgr: np.ndarray) -> np.ndarray:
    """BGR -> RGB view for matplotlib."""
    return np.ascontiguousarray(img_bgr[..., ::-1])


def new_figure(width_px: int, height_px: int, dpi: int = 100):
    """A matplotlib figure of exactly ``width_px x height_px`` pixels
    (Agg backend, no display needed)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt.figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)


def save_png(fig, out: str) -> str:
    """Save ``fig`` at its own size and DPI (no tight bbox, so the pixel
    size is exact) and close it."""
    import matplotlib.pyplot as plt
    d = osp.dirname(osp.abspath(out))
    os.makedirs(d, exist_ok=True)
    fig.savefig(out, dpi=fig.dpi, format='png')
    plt.close(fig)
    return out


__all__ = [
    'add_repo_to_path', 'build_backbone', 'load_backbone_strict',
    'backbone_from_config', 'norm_stats', 'to_input', 'demo_scenes',
    'demo_items', 'rgb', 'new_figure', 'save_png'
]
