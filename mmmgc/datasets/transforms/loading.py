"""Image loading that never costs a run.

A folder of 118k images will contain a few bad files. ``RobustLoadImage``
converts every decodable image to 8-bit, 3-channel BGR (the layout
``mmcv.imread`` gives) and, for a file that cannot be decoded, either skips
it (returns ``None``, so the dataset draws another sample) with a warning
that names the file, or raises an error that names it, per ``on_error``.
Skipped files are appended to the file named by ``$MMMGC_SKIP_LOG`` (set by
:class:`~mmmgc.engine.hooks.BadImageReportHook`), so that the count survives
dataloader worker processes and is reported at the end of each epoch.

What happens to each kind of input (tests/test_robust_input.py):

===============================  ==========================================
input                            outcome
===============================  ==========================================
RGB / grayscale / 1x1            used (grayscale replicated to 3 channels)
CMYK JPEG                        converted to RGB, used
16-bit PNG (``I;16``, ``I``)     scaled to 8 bits by its maximum, used
palette PNG with transparency    composited on black via RGBA, used
RGBA / LA                        alpha dropped (composited on black), used
truncated JPEG                   skipped (or, with ``load_truncated=True``,
                                 decoded with the missing part grey)
zero-byte file, non-image file   skipped
===============================  ==========================================
"""
import os
import warnings
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

SKIP_LOG_ENV = 'MMMGC_SKIP_LOG'


class UnreadableImageError(RuntimeError):
    """An image file that cannot be decoded (the message names it)."""


def pil_to_rgb_array(img) -> np.ndarray:
    """Convert any PIL image to a uint8 ``(H, W, 3)`` RGB array.

    Args:
        img (PIL.Image.Image): A decoded image of any mode.

    Returns:
        np.ndarray: uint8 RGB.
    """
    from PIL import Image
    mode = img.mode
    if mode in ('I;16', 'I;16B', 'I;16L', 'I', 'F'):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max()
        arr = arr * (255.0 / hi) if hi > 0 else arr
        arr = np.clip(arr, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if mode == 'P':
        img = img.convert('RGBA' if 'transparency' in img.info else 'RGB')
        mode = img.mode
    if mode in ('RGBA', 'LA', 'PA'):
        rgba = img.convert('RGBA')
        background = Image.new('RGBA', rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert('RGB'), dtype=np.uint8)


def read_image_rgb(path: str, load_truncated: bool = False) -> np.ndarray:
    """Decode ``path`` to uint8 RGB, or raise :class:`UnreadableImageError`
    naming the file and the reason."""
    from PIL import Image, ImageFile, UnidentifiedImageError
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise UnreadableImageError(f'{path}: cannot stat ({e})') from None
    if size == 0:
        raise UnreadableImageError(f'{path}: zero-byte file')
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = load_truncated
    try:
        with Image.open(path) as img:
            img.load()
            return pil_to_rgb_array(img)
    except UnidentifiedImageError:
        raise UnreadableImageError(f'{path}: not an image') from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UnreadableImageError(f'{path}: cannot decode ({e})') from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def record_skipped(path: str, reason: str) -> None:
    """Append ``path<TAB>reason`` to ``$MMMGC_SKIP_LOG`` (if set)."""
    log = os.environ.get(SKIP_LOG_ENV)
    if not log:
        return
    reason = reason.replace('\t', ' ').replace('\n', ' ')
    with open(log, 'a', encoding='utf-8') as f:
        f.write(f'{path}\t{reason}\n')


@TRANSFORMS.register_module()
class RobustLoadImage(BaseTransform):
    """Load an image file as uint8 BGR ``(H, W, 3)``, whatever its mode.

    Required Keys:

    - img_path

    Added Keys:

    - img
    - img_shape
    - ori_shape

    Args:
        on_error (str): ``'skip'`` (warn, name the file, record it, and
            return ``None`` so the dataset draws another sample) or
            ``'raise'`` (an error that names the file). Defaults to
            ``'skip'``.
        load_truncated (bool): Decode truncated files, filling the missing
            part, instead of treating them as unreadable. Defaults to False.
        to_float32 (bool): Return float32 instead of uint8. Defaults to
            False.
    """

    def __init__(self,
                 on_error: str = 'skip',
                 load_truncated: bool = False,
                 to_float32: bool = False) -> None:
        if on_error not in ('skip', 'raise'):
            raise ValueError("RobustLoadImage: on_error must be 'skip' or "
                             f"'raise', got {on_error!r}")
        self.on_error = on_error
        self.load_truncated = load_truncated
        self.to_float32 = to_float32

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            rgb = read_image_rgb(path, self.load_truncated)
        except UnreadableImageError as e:
            if self.on_error == 'raise':
                raise
            warnings.warn(f'skipping unreadable image {e}')
            record_skipped(path, str(e))
            return None
        img = np.ascontiguousarray(rgb[..., ::-1])
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(on_error={self.on_error!r}, '
                f'load_truncated={self.load_truncated})')
