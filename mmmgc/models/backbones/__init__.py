from .normed_taps_vit import NormedTapsVisionTransformer

__all__ = ['NormedTapsVisionTransformer']
