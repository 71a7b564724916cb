"""The centring of Mugs' group discrimination (as DINO)."""
import torch
from torch import Tensor

from ...utils.dist import all_reduce_mean


@torch.no_grad()
def mugs_center_update(center: Tensor, teacher_logits: Tensor,
                       momentum: float = 0.9) -> Tensor:
    """``center <- momentum * center + (1 - momentum) * batch_mean``.

    The batch mean of the teacher's group-head outputs (all teacher crops
    of the local batch) is averaged over ranks first, so every rank holds
    the centre of the global batch. Computed in fp32.

    Args:
        center (Tensor): ``(1, K)`` current centre.
        teacher_logits (Tensor): ``(n, K)`` teacher outputs.
        momentum (float): ``rho``, weight of the old centre. Defaults to
            0.9.

    Returns:
        Tensor: The new ``(1, K)`` centre (a new tensor).
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'center momentum must be in [0, 1], got '
                         f'{momentum}')
    batch_center = teacher_logits.detach().float().mean(dim=0, keepdim=True)
    batch_center = all_reduce_mean(batch_center)
    return center.float() * momentum + batch_center * (1.0 - momentum)
