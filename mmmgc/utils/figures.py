"""Matplotlib figures of an exact pixel size (Agg backend, no display
needed), for the picture and benchmark tools."""
import os
import os.path as osp

import numpy as np


def rgb(img_bgr: np.ndarray) -> np.ndarray:
    """BGR -> RGB view for matplotlib."""
    return np.ascontiguousarray(img_bgr[..., ::-1])


def new_figure(width_px: int, height_px: int, dpi: int = 100):
    """A matplotlib figure of exactly ``width_px x height_px`` pixels."""
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


__all__ = ['rgb', 'new_figure', 'save_png']
