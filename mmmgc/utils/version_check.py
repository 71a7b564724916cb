"""Fail early, and clearly, when an installed OpenMMLab package is outside
the range mmmgc supports."""
from importlib import metadata

from packaging.version import Version

# package -> (minimum inclusive, maximum exclusive)
SUPPORTED = {
    'mmengine': ('0.10.0', '1.0.0'),
    'mmcv': ('2.0.0rc4', '2.2.0'),
    'mmpretrain': ('1.2.0', '1.3.0'),
}


def check_versions(supported: dict = SUPPORTED) -> None:
    """Raise ``ImportError`` naming the package, its version and the range.

    Args:
        supported (dict): ``{name: (min_inclusive, max_exclusive)}``.
            Defaults to :data:`SUPPORTED`.
    """
    for name, (lo, hi) in supported.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise ImportError(
                f'mmmgc needs {name}>={lo},<{hi}, but {name} is not '
                'installed. Run `bash tools/install.sh`.') from None
        if not Version(lo) <= Version(found) < Version(hi):
            raise ImportError(
                f'mmmgc needs {name}>={lo},<{hi}, but {name}=={found} is '
                'installed. Run `bash tools/install.sh` (see README).')
