"""Mugs' instance (IDS) and local-group (LGDS) discrimination heads.

Both supervisions have the same structure (paper eqs. 1 and 3): a student
projector + predictor, an EMA copy of the projector for the teacher, and an
InfoNCE loss (:class:`MugsInfoNCELoss`) against a FIFO queue of teacher
targets. One class serves both; a Mugs model holds two instances of it
(``instance_head`` on the class token, ``local_group_head`` on the
aggregated local-group token).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor

from ...utils.renamed_args import reject_extra_args
from ..utils import FeatureQueue, build_mlp


@MODELS.register_module()
class MugsInfoNCEHead(BaseModule):
    """Projector + predictor + InfoNCE-against-a-queue head of Mugs.

    Projector (student, and EMA teacher): ``in -> hid -> hid -> out``
    linear layers with GELU, no bias, no BN. Predictor (student only): L2
    normalise, ``out -> pred_hid -> out``, no bias, no BN. Outputs are
    L2-normalised. ``norm_cfg`` / ``last_norm_cfg`` add BatchNorm (MoCo v3
    style)
    to both MLPs; that is not the paper's head, and is meant for small-scale
    runs (see ``configs/mugs/mugs_demo.py`` and ``Mugs(teacher_batch_stats)``).

    Args:
        in_channels (int): Input width (the backbone width).
        hid_channels (int): Projector hidden width. Defaults to 2048.
        out_channels (int): Projection width. Defaults to 256.
        num_layers (int): Projector layers; the predictor has
            ``num_layers - 1``. Defaults to 3.
        pred_hid_channels (int): Predictor hidden width. Defaults to
            4096.
        temperature (float): InfoNCE ``tau``. Defaults to 0.2.
        queue_length (int): FIFO queue of teacher targets. Defaults to
            65536.
        loss (dict): The loss config. Defaults to
            ``dict(type='MugsInfoNCELoss')`` (its ``pair_weighting`` is
            ``'half_global_half_local'``).
        norm_cfg (dict, optional): Norm after the hidden layers of the
            projector and predictor, e.g. ``dict(type='GlobalBN1d')``.
            Defaults to None (the paper).
        last_norm_cfg (dict, optional): Norm after their last layers, e.g.
            ``dict(type='GlobalBN1d', affine=False)``. Defaults to None
            (the paper).
        init_cfg (dict, optional): Defaults to truncated normal (std 0.02)
            for the linear layers.
    """

    #: Old argument names -> new ones (see :func:`check_renamed_args`).
    RENAMED_ARGS = dict(
        hidden_channels='hid_channels',
        pred_hidden_channels='pred_hid_channels',
        pair_weighting='loss.pair_weighting')

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 pred_hid_channels: int = 4096,
                 temperature: float = 0.2,
                 queue_length: int = 65536,
                 loss: dict = dict(type='MugsInfoNCELoss'),
                 norm_cfg: Optional[dict] = None,
                 last_norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.),
                 **kwargs) -> None:
        reject_extra_args(kwargs, self.RENAMED_ARGS, 'MugsInfoNCEHead')
        super().__init__(init_cfg=init_cfg)
        if num_layers < 2:
            raise ValueError('MugsInfoNCEHead: num_layers must be >= 2 (the '
                             f'predictor has num_layers - 1), got '
                             f'{num_layers}')
        if temperature <= 0:
            raise ValueError(f'MugsInfoNCEHead: temperature must be > 0, got '
                             f'{temperature}')
        self.projector = build_mlp(
            in_channels,
            hid_channels,
            out_channels,
            num_layers,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='GELU'),
            last_norm_cfg=last_norm_cfg,
            bias=False)
        self.predictor = build_mlp(
            out_channels,
            pred_hid_channels,
            out_channels,
            num_layers - 1,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='GELU'),
            last_norm_cfg=last_norm_cfg,
            bias=False)
        self.temperature = temperature
        self.queue = FeatureQueue(
            queue_length, out_channels, init='randn_normalized')
        self.loss_module = MODELS.build(loss)

    @staticmethod
    def target(projector: torch.nn.Module, x: Tensor) -> Tensor:
        """Teacher target: L2-normalised projection (fp32)."""
        return F.normalize(projector(x).float(), dim=-1)

    def predict(self, x: Tensor) -> Tensor:
        """Student prediction: normalise(predictor(normalise(proj(x))))."""
        z = F.normalize(self.projector(x).float(), dim=-1)
        return F.normalize(self.predictor(z).float(), dim=-1)

    def loss(self, preds: Tensor, targets: Tensor) -> Tensor:
        """The loss (``loss_module``) against the queue; the queue is NOT
        updated here (call :meth:`enqueue` afterwards), so the current batch
        never appears among its own negatives.

        Args:
            preds (Tensor): ``(S, B, C)`` student predictions, global crops
                first.
            targets (Tensor): ``(T, B, C)`` teacher targets; ``T`` is the
                number of global crops.

        Returns:
            Tensor: Scalar loss.
        """
        # the live queue, no snapshot: the loss does not read it again in
        # the backward pass, after :meth:`enqueue` has written to it
        return self.loss_module(preds, targets, self.queue.queue,
                                self.temperature)

    @torch.no_grad()
    def enqueue(self, targets: Tensor) -> None:
        """Push teacher targets ``(n, C)`` (all teacher crops) into the FIFO
        queue (all-gathered under DDP)."""
        self.queue.enqueue(targets.detach().float())
