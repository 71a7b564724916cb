from . import backbones, heads, losses, necks, selfsup, utils  # noqa: F401

__all__ = []
