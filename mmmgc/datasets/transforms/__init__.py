from .loading import RobustLoadImage, UnreadableImageError, read_image_rgb

__all__ = ['RobustLoadImage', 'UnreadableImageError', 'read_image_rgb']
