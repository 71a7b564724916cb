"""Mugs' group discrimination (GDS) head: a DINO-style head with centring
and sharpening."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor

from ..utils import build_mlp
from ..utils.mugs_centering import mugs_center_update
from ..utils.mugs_pairing import PAIR_WEIGHTINGS, mugs_pair_weights


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
    with torch.autocast(device_type=student_logits.device.type,
                        enabled=False):
        log_p_s = F.log_softmax(student_logits.float() / student_temp, -1)
        p_t = F.softmax((teacher_logits.detach().float() - center.float()) /
                        teacher_temp, dim=-1)
        return -torch.einsum('tbk,sbk->ts', p_t, log_p_s) / p_t.shape[1]


class MugsWeightNormLinear(nn.Module):
    """``Linear(in, out, bias=False)`` with weight normalisation
    ``W = g * v / ||v||`` (per output row), as DINO's last layer.

    Args:
        in_features (int): Input width.
        out_features (int): Number of prototypes.
        norm_last_layer (bool): Fix ``g = 1`` (no gradient). Defaults to
            True.
    """

    def __init__(self, in_features: int, out_features: int,
                 norm_last_layer: bool = True) -> None:
        super().__init__()
        v = torch.empty(out_features, in_features)
        nn.init.kaiming_uniform_(v, a=math.sqrt(5))  # nn.Linear's default
        self.weight_v = nn.Parameter(v)
        self.weight_g = nn.Parameter(torch.ones(out_features, 1),
                                     requires_grad=not norm_last_layer)
        self.frozen = False

    def weight(self) -> Tensor:
        # the per-row factor g / ||v|| first: one pass over the
        # (out, in) matrix forward and backward instead of two
        return self.weight_v * (self.weight_g /
                                self.weight_v.norm(dim=1, keepdim=True))

    def drop_grads_(self) -> bool:
        """While ``frozen``, set the gradients of ``weight_v`` and
        ``weight_g`` to None (DINO's and Mugs' "cancel gradients"), so that
        the optimiser skips them: no update, no weight decay, no moment or
        step-count change. Returns ``frozen``."""
        if self.frozen:
            self.weight_v.grad = None
            self.weight_g.grad = None
        return self.frozen

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight())


@MODELS.register_module()
class MugsGroupHead(BaseModule):
    """DINO-style group head: MLP ``in -> hidden -> hidden -> bottleneck``
    (GELU, bias, no BN), L2 normalisation, weight-normalised prototypes.

    Attributes set by hooks: ``teacher_temp`` (see
    :class:`MugsTeacherTempHook`) and ``last_layer_frozen`` (see
    :class:`MugsFreezeLastLayerHook`: while True the prototypes' gradients
    are set to None just before each optimiser step, so the optimiser
    leaves them, their moments and their step count alone; the layer stays
    in the graph, so DDP still reduces its gradient and the gradient still
    flows through it into the MLP).

    Args:
        in_channels (int): Input width.
        hidden_channels (int): Defaults to 2048.
        bottleneck_channels (int): Defaults to 256.
        num_prototypes (int): ``m``. Defaults to 65536.
        num_layers (int): MLP layers. Defaults to 3.
        norm_last_layer (bool): Freeze the weight-norm gain at 1. Defaults
            to False (ViT-S/B; True for ViT-L).
        student_temp (float): Defaults to 0.1.
        teacher_temp (float): Initial teacher temperature. Defaults to 0.04.
        center_momentum (float): ``rho``. Defaults to 0.9.
        pair_weighting (str): See :func:`mugs_pair_weights`. Defaults to
            ``'half_global_half_local'``.
        init_cfg (dict, optional): Defaults to truncated normal (std 0.02)
            for the MLP's linear layers.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 num_prototypes: int = 65536,
                 num_layers: int = 3,
                 norm_last_layer: bool = False,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9,
                 pair_weighting: str = 'half_global_half_local',
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02,
                     bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        if student_temp <= 0 or teacher_temp <= 0:
            raise ValueError('MugsGroupHead: temperatures must be > 0, got '
                             f'student_temp={student_temp}, '
                             f'teacher_temp={teacher_temp}')
        if pair_weighting not in PAIR_WEIGHTINGS:
            raise ValueError(f'MugsGroupHead: pair_weighting must be one of '
                             f'{PAIR_WEIGHTINGS}, got {pair_weighting!r}')
        self.mlp = build_mlp(in_channels, hidden_channels,
                             bottleneck_channels, num_layers, norm_cfg=None,
                             act_cfg=dict(type='GELU'), bias=True)
        self.last_layer = MugsWeightNormLinear(bottleneck_channels,
                                               num_prototypes,
                                               norm_last_layer)
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.pair_weighting = pair_weighting
        self.register_buffer('center', torch.zeros(1, num_prototypes))

    @property
    def last_layer_frozen(self) -> bool:
        return self.last_layer.frozen

    @last_layer_frozen.setter
    def last_layer_frozen(self, value: bool) -> None:
        self.last_layer.frozen = bool(value)

    def forward(self, x: Tensor) -> Tensor:
        """``(n, in)`` -> ``(n, num_prototypes)`` logits."""
        z = F.normalize(self.mlp(x), dim=-1)
        return self.last_layer(z)

    def loss(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        """Pair-averaged cross-entropy; the centre is NOT updated here (call
        :meth:`update_center` afterwards).

        Args:
            student_logits (Tensor): ``(S, B, K)``, global crops first.
            teacher_logits (Tensor): ``(T, B, K)``.

        Returns:
            Tensor: Scalar loss.
        """
        num_global = teacher_logits.shape[0]
        num_local = student_logits.shape[0] - num_global
        weights = mugs_pair_weights(num_global, num_local,
                                    self.pair_weighting).to(
                                        student_logits.device)
        losses = mugs_group_loss_matrix(student_logits, teacher_logits,
                                        self.center, self.student_temp,
                                        self.teacher_temp)
        return (losses * weights).sum()

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        """EMA of the (all-reduced) batch mean of the teacher outputs."""
        self.center.copy_(
            mugs_center_update(self.center,
                               teacher_logits.reshape(
                                   -1, teacher_logits.shape[-1]),
                               self.center_momentum))
