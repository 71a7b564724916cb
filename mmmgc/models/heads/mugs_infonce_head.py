"""Mugs' instance (IDS) and local-group (LGDS) discrimination heads.

Both supervisions have the same structure (paper eqs. 1 and 3): a student
projector + predictor, an EMA copy of the projector for the teacher, and an
InfoNCE loss against a FIFO queue of teacher targets. One class serves both;
a Mugs model holds two instances of it (``instance_head`` on the class
token, ``local_group_head`` on the aggregated local-group token).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor

from ..utils import FeatureQueue, build_mlp
from ..utils.mugs_pairing import PAIR_WEIGHTINGS, mugs_pair_weights


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


def mugs_infonce_loss_matrix(preds: Tensor, targets: Tensor,
                             negatives: Tensor,
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
class MugsInfoNCEHead(BaseModule):
    """Projector + predictor + InfoNCE-against-a-queue head of Mugs.

    Projector (student, and EMA teacher): ``in -> hidden -> hidden -> out``
    linear layers with GELU, no bias, no BN. Predictor (student only): L2
    normalise, ``out -> pred_hidden -> out``, no bias, no BN. Outputs are
    L2-normalised. ``norm_cfg`` / ``last_norm_cfg`` add BatchNorm (MoCo v3
    style)
    to both MLPs; that is not the paper's head, and is meant for small-scale
    runs (see ``configs/mugs/mugs_demo.py`` and ``Mugs(teacher_batch_stats)``).

    Args:
        in_channels (int): Input width (the backbone width).
        hidden_channels (int): Projector hidden width. Defaults to 2048.
        out_channels (int): Projection width. Defaults to 256.
        num_layers (int): Projector layers; the predictor has
            ``num_layers - 1``. Defaults to 3.
        pred_hidden_channels (int): Predictor hidden width. Defaults to
            4096.
        temperature (float): InfoNCE ``tau``. Defaults to 0.2.
        queue_length (int): FIFO queue of teacher targets. Defaults to
            65536.
        pair_weighting (str): See :func:`mugs_pair_weights`. Defaults to
            ``'half_global_half_local'``.
        norm_cfg (dict, optional): Norm after the hidden layers of the
            projector and predictor, e.g. ``dict(type='GlobalBN1d')``.
            Defaults to None (the paper).
        last_norm_cfg (dict, optional): Norm after their last layers, e.g.
            ``dict(type='GlobalBN1d', affine=False)``. Defaults to None
            (the paper).
        init_cfg (dict, optional): Defaults to truncated normal (std 0.02)
            for the linear layers.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int = 2048,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 pred_hidden_channels: int = 4096,
                 temperature: float = 0.2,
                 queue_length: int = 65536,
                 pair_weighting: str = 'half_global_half_local',
                 norm_cfg: Optional[dict] = None,
                 last_norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02,
                     bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 2:
            raise ValueError('MugsInfoNCEHead: num_layers must be >= 2 (the '
                             f'predictor has num_layers - 1), got '
                             f'{num_layers}')
        if temperature <= 0:
            raise ValueError(f'MugsInfoNCEHead: temperature must be > 0, got '
                             f'{temperature}')
        if pair_weighting not in PAIR_WEIGHTINGS:
            raise ValueError(f'MugsInfoNCEHead: pair_weighting must be one '
                             f'of {PAIR_WEIGHTINGS}, got {pair_weighting!r}')
        self.projector = build_mlp(in_channels, hidden_channels, out_channels,
                                   num_layers, norm_cfg=norm_cfg,
                                   act_cfg=dict(type='GELU'),
                                   last_norm_cfg=last_norm_cfg, bias=False)
        self.predictor = build_mlp(out_channels, pred_hidden_channels,
                                   out_channels, num_layers - 1,
                                   norm_cfg=norm_cfg,
                                   act_cfg=dict(type='GELU'),
                                   last_norm_cfg=last_norm_cfg, bias=False)
        self.temperature = temperature
        self.pair_weighting = pair_weighting
        self.queue = FeatureQueue(queue_length, out_channels,
                                  init='randn_normalized')

    @staticmethod
    def target(projector: torch.nn.Module, x: Tensor) -> Tensor:
        """Teacher target: L2-normalised projection (fp32)."""
        return F.normalize(projector(x).float(), dim=-1)

    def predict(self, x: Tensor) -> Tensor:
        """Student prediction: normalise(predictor(normalise(proj(x))))."""
        z = F.normalize(self.projector(x).float(), dim=-1)
        return F.normalize(self.predictor(z).float(), dim=-1)

    def loss(self, preds: Tensor, targets: Tensor) -> Tensor:
        """The pair-averaged InfoNCE loss; the queue is NOT updated here
        (call :meth:`enqueue` afterwards), so the current batch never appears
        among its own negatives.

        Args:
            preds (Tensor): ``(S, B, C)`` student predictions, global crops
                first.
            targets (Tensor): ``(T, B, C)`` teacher targets; ``T`` is the
                number of global crops.

        Returns:
            Tensor: Scalar loss.
        """
        num_global = targets.shape[0]
        num_local = preds.shape[0] - num_global
        weights = mugs_pair_weights(num_global, num_local,
                                    self.pair_weighting).to(preds.device)
        # the live queue, no snapshot: the loss does not read it again in
        # the backward pass, after :meth:`enqueue` has written to it
        losses = mugs_infonce_loss_matrix(preds, targets, self.queue.queue,
                                          self.temperature)
        return (losses * weights).sum()

    @torch.no_grad()
    def enqueue(self, targets: Tensor) -> None:
        """Push teacher targets ``(n, C)`` (all teacher crops) into the FIFO
        queue (all-gathered under DDP)."""
        self.queue.enqueue(targets.detach().float())
