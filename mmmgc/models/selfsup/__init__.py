from .mugs import Mugs

__all__ = ['Mugs']
