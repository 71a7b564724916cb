"""Mugs' InfoNCE loss against a queue of negatives, used by instance (IDS)
and local-group (LGDS) discrimination (paper eqs. 1 and 3)."""

import torch
from mmpretrain.registry import MODELS
from torch import Tensor

from .mugs_pairing import MugsPairLoss


class _NegativesLogSumExp(torch.autograd.Function):
    """``logsumexp_k(p . q_k / tau)`` over the negatives ``q``, with its
    gradient with respect to ``p``, ``softmax(p q^T / tau) q / tau``,
    computed in the forward pass: the same product that the backward pass
    of the plain expression computes, done earlier. Nothing refers to ``q``
    afterwards, so the queue needs no snapshot (a copy of the whole queue
    each step) to survive its in-place update before the backward pass, and
    the ``(n, K)`` logits are not kept for it either."""

    @staticmethod
    def forward(ctx, p: Tensor, q: Tensor, temperature: float) -> Tensor:
        logits = p @ q.t() / temperature
        lse = torch.logsumexp(logits, dim=-1)
        weights = torch.exp(logits.sub_(lse.unsqueeze(-1)))  # softmax
        ctx.save_for_backward((weights @ q).div_(temperature))
        return lse

    @staticmethod
    def backward(ctx, grad: Tensor):
        jacobian, = ctx.saved_tensors
        return grad.unsqueeze(-1) * jacobian, None, None


def mugs_infonce_loss_matrix(preds: Tensor, targets: Tensor, negatives: Tensor,
                             temperature: float) -> Tensor:
    """InfoNCE of every (teacher crop, student crop) pair, in fp32.

    For a pair ``(t, s)`` and sample ``b``, with unit vectors,
    ``-log(exp(p.z / tau) / (exp(p.z / tau) + sum_q exp(p.q / tau)))`` where
    ``p = preds[s, b]``, ``z = targets[t, b]`` and ``q`` runs over the
    negatives (paper eqs. 1 and 3). The log-sum-exp over the negatives is
    computed once per student crop and shared by all teacher crops, and
    with its gradient already (see :class:`_NegativesLogSumExp`), so
    ``negatives`` may be the live queue: it is not read again in the
    backward pass.

    Args:
        preds (Tensor): ``(S, B, C)`` L2-normalised student predictions.
        targets (Tensor): ``(T, B, C)`` L2-normalised teacher targets
            (detached).
        negatives (Tensor): ``(K, C)`` queue (detached).
        temperature (float): ``tau``.

    Returns:
        Tensor: ``(T, S)`` losses, each the mean over the batch.
    """
    with torch.autocast(device_type=preds.device.type, enabled=False):
        p = preds.float()
        z = targets.detach().float()
        q = negatives.detach().float()
        if torch.is_grad_enabled() and p.requires_grad:
            lse_neg = _NegativesLogSumExp.apply(p, q, temperature)
        else:
            lse_neg = torch.logsumexp(p @ q.t() / temperature, dim=-1)
        pos = torch.einsum('tbc,sbc->tsb', z, p) / temperature  # (T, S, B)
        loss = torch.logaddexp(lse_neg.unsqueeze(0), pos) - pos
        return loss.mean(dim=-1)


@MODELS.register_module()
class MugsInfoNCELoss(MugsPairLoss):
    """The pair-averaged InfoNCE loss of a :class:`MugsInfoNCEHead`: the
    losses of :func:`mugs_infonce_loss_matrix`, one per (teacher crop,
    student crop) pair, weighted by :func:`mugs_pair_weights` and summed.

    Arguments: see :class:`MugsPairLoss`.
    """

    def forward(self, preds: Tensor, targets: Tensor, negatives: Tensor,
                temperature: float) -> Tensor:
        """Scalar loss.

        Args:
            preds (Tensor): ``(S, B, C)`` student predictions, global crops
                first.
            targets (Tensor): ``(T, B, C)`` teacher targets; ``T`` is the
                number of global crops.
            negatives (Tensor): ``(K, C)`` queue; may be the live queue
                (see :func:`mugs_infonce_loss_matrix`).
            temperature (float): ``tau``.

        Returns:
            Tensor: Scalar fp32 loss.
        """
        return self.reduce_pairs(
            mugs_infonce_loss_matrix(preds, targets, negatives, temperature))
