"""Multi-grained average pooling of ViT patch tokens (MGC Sec. 3.2)."""
import torch.nn.functional as F
from torch import Tensor


def grid_avg_pool(featmap: Tensor, granularity: int) -> Tensor:
    """Average-pool a patch-token map with window and stride ``c``.

    Args:
        featmap (Tensor): ``(B, C, H, W)`` patch tokens (``H == W``).
        granularity (int): Window ``c``; must divide ``H``.

    Returns:
        Tensor: ``(B, G*G, C)`` with ``G = H // c``; token ``i = row * G +
        col`` is the mean of the ``c x c`` patches of that cell, in the
        same cell order as :func:`correspondence_targets`.
    """
    b, c, h, w = featmap.shape
    if h != w or h % granularity != 0:
        raise ValueError(f'grid_avg_pool: granularity {granularity} must '
                         f'divide a square patch grid, got {h} x {w}')
    if granularity > 1:
        featmap = F.avg_pool2d(featmap, granularity)
    return featmap.flatten(2).transpose(1, 2)


__all__ = ['grid_avg_pool']
