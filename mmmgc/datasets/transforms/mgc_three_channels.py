"""Bring any decoded image to 8-bit, 3-channel BGR (mmcv's layout)."""
import numpy as np

from .loading import pil_to_rgb_array


def to_three_channels(img) -> np.ndarray:
    """Return ``img`` as an ``(H, W, 3)`` array in BGR order.

    - 2-D (grayscale) and ``(H, W, 1)`` arrays are replicated to 3 channels;
    - ``(H, W, 4)`` arrays (BGRA, as ``mmcv.imread(..., 'unchanged')``
      gives) lose their alpha channel;
    - ``(H, W, 3)`` arrays are returned unchanged;
    - PIL images of any mode (palette ``P``, ``L``, ``RGBA``, ``CMYK``,
      16-bit, ...) are converted to RGB (transparency composited on black)
      and then to BGR.

    Args:
        img (np.ndarray | PIL.Image.Image): The image.

    Returns:
        np.ndarray: ``(H, W, 3)`` with the input dtype (uint8 for PIL).

    Raises:
        ValueError: For any other shape.
    """
    if not isinstance(img, np.ndarray):
        from PIL import Image
        if isinstance(img, Image.Image):
            return np.ascontiguousarray(pil_to_rgb_array(img)[..., ::-1])
        raise ValueError(f'to_three_channels: unsupported image type '
                         f'{type(img)}')
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    if img.ndim == 3 and img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(img[..., :3])
    raise ValueError(f'to_three_channels: expected (H, W), (H, W, 1), '
                     f'(H, W, 3) or (H, W, 4), got {img.shape}')


__all__ = ['to_three_channels']
