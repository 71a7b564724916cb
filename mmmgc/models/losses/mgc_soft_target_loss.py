"""Soft-target contrastive loss of MGC (paper Eq. 3) and the public code's
hard per-pair InfoNCE (an option, with padding masked)."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor


def soft_target_cross_entropy(logits: Tensor, targets: Tensor,
                              normalizer: float) -> Tensor:
    """Eq. 3: ``-sum_q sum_k t_qk log softmax_k(logits_q) / normalizer``.

    Args:
        logits (Tensor): ``(Q, K)`` similarities divided by the temperature.
        targets (Tensor): ``(Q, K)`` non-negative targets, rows summing to 1
            (rows of zeros contribute nothing).
        normalizer (float): The ``N`` of Eq. 3 (images in the local batch).

    Returns:
        Tensor: Scalar fp32 loss.
    """
    logp = torch.log_softmax(logits.float(), dim=1)
    return -(targets.float() * logp).sum() / max(float(normalizer), 1.0)


def hard_pair_infonce(logits: Tensor, targets: Tensor) -> Tensor:
    """One-hot InfoNCE per positive pair, as in the authors' public code.

    Every (query, key) pair with a positive target is one InfoNCE term whose
    positive is that key; the loss is the mean over pairs. Padding (pairs
    with zero target) is masked out, unlike the public code.

    Args:
        logits (Tensor): ``(Q, K)`` similarities divided by the temperature.
        targets (Tensor): ``(Q, K)`` targets; only ``> 0`` matters.

    Returns:
        Tensor: Scalar fp32 loss (0 with a graph when there is no pair).
    """
    logp = torch.log_softmax(logits.float(), dim=1)
    pos = (targets > 0).to(logp.dtype)
    return -(pos * logp).sum() / pos.sum().clamp_min(1.0)


@MODELS.register_module()
class MGCSoftTargetLoss(BaseModule):
    """The MGC contrastive loss over logits and correspondence targets.

    Args:
        mode (str): ``'soft'``: the paper's soft-target cross-entropy (Eq. 3,
            normalised by the number of images); ``'hard'``: the public
            code's per-pair one-hot InfoNCE (mean over positive pairs,
            padding masked). Defaults to ``'soft'``.
        loss_weight (float): Multiplier. Defaults to 1.0.
        init_cfg (dict, optional): Unused. Defaults to None.
    """

    def __init__(self,
                 mode: str = 'soft',
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in ('soft', 'hard'):
            raise ValueError("MGCSoftTargetLoss: mode must be 'soft' or "
                             f"'hard', got {mode!r}")
        self.mode = mode
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, targets: Tensor,
                num_images: int) -> Tensor:
        """Loss of one granularity and direction.

        Args:
            logits (Tensor): ``(Q, K)`` similarities / temperature.
            targets (Tensor): ``(Q, K)`` targets.
            num_images (int): Images in the local batch (``N`` of Eq. 3).

        Returns:
            Tensor: Scalar loss.
        """
        if self.mode == 'soft':
            loss = soft_target_cross_entropy(logits, targets, num_images)
        else:
            loss = hard_pair_infonce(logits, targets)
        return self.loss_weight * loss


__all__ = [
    'MGCSoftTargetLoss', 'soft_target_cross_entropy', 'hard_pair_infonce'
]
