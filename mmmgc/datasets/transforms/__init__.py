from .loading import (RobustLoadImage, UnreadableImageError, read_image_rgb,
                      to_three_channels)
from .mgc_two_view_crop import MGCTwoViewCrop
from .mugs_multicrop import MugsMultiCrop

__all__ = [
    'RobustLoadImage', 'UnreadableImageError', 'read_image_rgb',
    'to_three_channels', 'MGCTwoViewCrop', 'MugsMultiCrop'
]
