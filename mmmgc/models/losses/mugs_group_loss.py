"""Mugs' group discrimination (GDS) loss: cross-entropy between the
centred, sharpened teacher distribution over the prototypes and the
student's (paper eqs. 4 and 5)."""

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from torch import Tensor

from .mugs_pairing import MugsPairLoss


def mugs_group_loss_matrix(student_logits: Tensor, teacher_logits: Tensor,
                           center: Tensor, student_temp: float,
                           teacher_temp: float) -> Tensor:
    """Cross-entropy between the centred, sharpened teacher distribution and
    the student's, for every (teacher crop, student crop) pair, in fp32
    (paper eqs. 4 and 5).

    Args:
        student_logits (Tensor): ``(S, B, K)``.
        teacher_logits (Tensor): ``(T, B, K)`` (detached).
        center (Tensor): ``(1, K)`` centre.
        student_temp (float): ``tau'_g``.
        teacher_temp (float): ``tau_g``.

    Returns:
        Tensor: ``(T, S)`` losses, each the mean over the batch.
    """
    with torch.autocast(device_type=student_logits.device.type, enabled=False):
        log_p_s = F.log_softmax(student_logits.float() / student_temp, -1)
        p_t = F.softmax(
            (teacher_logits.detach().float() - center.float()) / teacher_temp,
            dim=-1)
        return -torch.einsum('tbk,sbk->ts', p_t, log_p_s) / p_t.shape[1]


@MODELS.register_module()
class MugsGroupLoss(MugsPairLoss):
    """The pair-averaged loss of a :class:`MugsGroupHead`: the losses of
    :func:`mugs_group_loss_matrix`, one per (teacher crop, student crop)
    pair, weighted by :func:`mugs_pair_weights` and summed.

    Arguments: see :class:`MugsPairLoss`.
    """

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                center: Tensor, student_temp: float,
                teacher_temp: float) -> Tensor:
        """Scalar loss.

        Args:
            student_logits (Tensor): ``(S, B, K)``, global crops first.
            teacher_logits (Tensor): ``(T, B, K)``; ``T`` is the number of
                global crops.
            center (Tensor): ``(1, K)`` centre of the teacher outputs.
            student_temp (float): ``tau'_g``.
            teacher_temp (float): ``tau_g``.

        Returns:
            Tensor: Scalar fp32 loss.
        """
        return self.reduce_pairs(
            mugs_group_loss_matrix(student_logits, teacher_logits, center,
                                   student_temp, teacher_temp))
