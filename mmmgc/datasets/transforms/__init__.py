from .loading import RobustLoadImage, UnreadableImageError, read_image_rgb
from .mugs_multicrop import MugsMultiCrop

__all__ = [
    'RobustLoadImage', 'UnreadableImageError', 'read_image_rgb',
    'MugsMultiCrop'
]
