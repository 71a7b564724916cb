from .mgc import MGC
from .mugs import Mugs

__all__ = ['MGC', 'Mugs']
