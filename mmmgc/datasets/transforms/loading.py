"""Image loading that never costs a run.

A folder of 118k images will contain a few bad files. ``RobustLoadImage``
converts every decodable image to 8-bit, 3-channel BGR (the layout
``mmcv.imread`` gives) and, for a file that cannot be decoded, either skips
it (returns ``None``, so the dataset draws another sample) with a warning
that names the file, or raises an error that names it, per ``on_error``.
Skipped files are appended to the file named by ``$MMMGC_SKIP_LOG`` (set by
:class:`~mmmgc.engine.hooks.BadImageReportHook`), so that the count survives
dataloader worker processes and is reported at the end of each epoch.

What happens to each kind of input (tests/test_datasets/test_robust_input.py):

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
decompression bomb; a header     skipped before decoding (the size is read
claiming over ``max_pixels``     from the header; ``max_pixels`` defaults
pixels, or a zero size           to Pillow's 89,478,485)
any other decoder exception      skipped (the message names the file and
                                 the exception type)
===============================  ==========================================

Hostile files: the size check reads only the header (Pillow opens lazily),
so a small file that claims e.g. 20,000 x 20,000 pixels is refused without
allocating its pixels; Pillow's own decompression-bomb limit is replaced
by ``max_pixels`` for that check. Any exception raised while decoding
(``DecompressionBombError``, ``struct.error``, ``MemoryError``, ...) is an
unreadable file, never a crash; only ``KeyboardInterrupt``/``SystemExit``
propagate.
"""
import os
import threading
import warnings
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ...utils.skip_log import SKIP_LOG_ENV

#: Default pixel limit: Pillow's own ``Image.MAX_IMAGE_PIXELS`` (a
#: 1024 x 1024 x 4 x 3 byte budget), the point where Pillow starts to warn.
DEFAULT_MAX_PIXELS = 89_478_485

# Pillow's limit is a module global; swapping it around ``Image.open`` is
# serialised so that threads of one process never see each other's value.
_PIL_LIMIT_LOCK = threading.Lock()


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


def open_checked(path: str, max_pixels: Optional[int]):
    """Open ``path`` lazily (header only) and refuse an absurd size.

    Pillow's decompression-bomb check is replaced by ``max_pixels`` for the
    header read, so the limit is exactly the configured one; nothing is
    decoded here.

    Args:
        path (str): Image file.
        max_pixels (int, optional): Largest ``width * height`` accepted;
            None accepts any size.

    Returns:
        PIL.Image.Image: The opened, not yet decoded, image (caller
        closes it).

    Raises:
        UnreadableImageError: Naming the file, for a size over the limit or
            of zero.
    """
    from PIL import Image
    with _PIL_LIMIT_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = old
    width, height = img.size
    if width <= 0 or height <= 0:
        img.close()
        raise UnreadableImageError(
            f'{path}: header claims an empty image ({width} x {height})')
    if max_pixels is not None and width * height > max_pixels:
        img.close()
        raise UnreadableImageError(
            f'{path}: header claims {width} x {height} = {width * height} '
            f'pixels, over RobustLoadImage max_pixels={max_pixels} (possible '
            'decompression bomb; not decoded)')
    return img


def read_image_rgb(path: str,
                   load_truncated: bool = False,
                   max_pixels: Optional[int] = DEFAULT_MAX_PIXELS
                   ) -> np.ndarray:
    """Decode ``path`` to uint8 RGB, or raise :class:`UnreadableImageError`
    naming the file and the reason.

    Args:
        path (str): Image file.
        load_truncated (bool): Decode truncated files. Defaults to False.
        max_pixels (int, optional): Largest ``width * height`` decoded,
            checked on the header before decoding; None for no limit.
            Defaults to ``DEFAULT_MAX_PIXELS`` (Pillow's 89,478,485).
    """
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
        with open_checked(path, max_pixels) as img:
            img.load()
            return pil_to_rgb_array(img)
    except UnreadableImageError:
        raise
    except UnidentifiedImageError:
        raise UnreadableImageError(f'{path}: not an image') from None
    except Image.DecompressionBombError as e:
        raise UnreadableImageError(
            f'{path}: decompression bomb ({e})') from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UnreadableImageError(f'{path}: cannot decode ({e})') from None
    except Exception as e:  # any other decoder failure on a hostile file
        raise UnreadableImageError(
            f'{path}: cannot decode ({type(e).__name__}: {e})') from None
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
        max_pixels (int, optional): Largest ``width * height`` that is
            decoded. The size is read from the file's header before any
            pixel is decoded; a larger claim (a decompression bomb, or a
            header with absurd dimensions) is an unreadable file (skipped
            or raised per ``on_error``). Replaces Pillow's own
            ``Image.MAX_IMAGE_PIXELS`` check. None disables the limit (not
            advised for files you did not make). Defaults to 89,478,485
            (Pillow's limit, about 9459 x 9459).
    """

    def __init__(self,
                 on_error: str = 'skip',
                 load_truncated: bool = False,
                 to_float32: bool = False,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> None:
        if on_error not in ('skip', 'raise'):
            raise ValueError("RobustLoadImage: on_error must be 'skip' or "
                             f"'raise', got {on_error!r}")
        if max_pixels is not None and (isinstance(max_pixels, bool)
                                       or not isinstance(max_pixels, int)
                                       or max_pixels < 1):
            raise ValueError('RobustLoadImage: max_pixels must be a positive '
                             f'int or None, got {max_pixels!r}')
        self.on_error = on_error
        self.load_truncated = load_truncated
        self.to_float32 = to_float32
        self.max_pixels = max_pixels

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            rgb = read_image_rgb(path, self.load_truncated, self.max_pixels)
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
                f'load_truncated={self.load_truncated}, '
                f'max_pixels={self.max_pixels})')
