"""Mugs' group discrimination (GDS): a DINO-style head with weight-normalised
prototypes and the centring of the teacher's outputs (paper eqs. 4 and 5);
the loss is :class:`MugsGroupLoss`."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor

from ...utils.dist import all_reduce_mean
from ...utils.renamed_args import reject_extra_args
from ..utils import build_mlp


@torch.no_grad()
def mugs_center_update(center: Tensor,
                       teacher_logits: Tensor,
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


class MugsWeightNormLinear(nn.Module):
    """``Linear(in, out, bias=False)`` with weight normalisation
    ``W = g * v / ||v||`` (per output row), as DINO's last layer.

    Args:
        in_features (int): Input width.
        out_features (int): Number of prototypes.
        norm_last_layer (bool): Fix ``g = 1`` (no gradient). Defaults to
            True.
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 norm_last_layer: bool = True) -> None:
        super().__init__()
        v = torch.empty(out_features, in_features)
        nn.init.kaiming_uniform_(v, a=math.sqrt(5))  # nn.Linear's default
        self.weight_v = nn.Parameter(v)
        self.weight_g = nn.Parameter(
            torch.ones(out_features, 1), requires_grad=not norm_last_layer)
        self.frozen = False

    def weight(self) -> Tensor:
        # the per-row factor g / ||v|| first: one pass over the
        # (out, in) matrix forward and backward instead of two
        return self.weight_v * (
            self.weight_g / self.weight_v.norm(dim=1, keepdim=True))

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
    """DINO-style group head: MLP ``in -> hid -> hid -> bottleneck``
    (GELU, bias, no BN), L2 normalisation, weight-normalised prototypes.

    Attributes set by hooks: ``teacher_temp`` (see
    :class:`MugsTeacherTempHook`) and ``last_layer_frozen`` (see
    :class:`MugsFreezeLastLayerHook`: while True the prototypes' gradients
    are set to None just before each optimiser step, so the optimiser
    leaves them, their moments and their step count alone; the layer stays
    in the graph, so DDP still reduces its gradient and the gradient still
    flows through it into the MLP).

    The centre is a buffer of this head, which the EMA teacher tracks:
    :func:`ema_update_` copies it into the teacher's copy of the head at
    every update, where it is never read (only the student's centre enters
    the loss).

    Args:
        in_channels (int): Input width.
        hid_channels (int): Defaults to 2048.
        bottleneck_channels (int): Defaults to 256.
        num_prototypes (int): ``m``. Defaults to 65536.
        num_layers (int): MLP layers. Defaults to 3.
        norm_last_layer (bool): Freeze the weight-norm gain at 1. Defaults
            to False (ViT-S/B; True for ViT-L).
        student_temp (float): Defaults to 0.1.
        teacher_temp (float): Initial teacher temperature. Defaults to 0.04.
        center_momentum (float): ``rho``. Defaults to 0.9.
        loss (dict): The loss config. Defaults to
            ``dict(type='MugsGroupLoss')`` (its ``pair_weighting`` is
            ``'half_global_half_local'``).
        init_cfg (dict, optional): Defaults to truncated normal (std 0.02)
            for the MLP's linear layers.
    """

    #: Old argument names -> new ones (see :func:`check_renamed_args`).
    RENAMED_ARGS = dict(
        hidden_channels='hid_channels', pair_weighting='loss.pair_weighting')

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 bottleneck_channels: int = 256,
                 num_prototypes: int = 65536,
                 num_layers: int = 3,
                 norm_last_layer: bool = False,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9,
                 loss: dict = dict(type='MugsGroupLoss'),
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.),
                 **kwargs) -> None:
        reject_extra_args(kwargs, self.RENAMED_ARGS, 'MugsGroupHead')
        super().__init__(init_cfg=init_cfg)
        if student_temp <= 0 or teacher_temp <= 0:
            raise ValueError('MugsGroupHead: temperatures must be > 0, got '
                             f'student_temp={student_temp}, '
                             f'teacher_temp={teacher_temp}')
        self.mlp = build_mlp(
            in_channels,
            hid_channels,
            bottleneck_channels,
            num_layers,
            norm_cfg=None,
            act_cfg=dict(type='GELU'),
            bias=True)
        self.last_layer = MugsWeightNormLinear(bottleneck_channels,
                                               num_prototypes, norm_last_layer)
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.register_buffer('center', torch.zeros(1, num_prototypes))
        self.loss_module = MODELS.build(loss)

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
        """The loss (``loss_module``) with this head's centre and
        temperatures; the centre is NOT updated here (call
        :meth:`update_center` afterwards).

        Args:
            student_logits (Tensor): ``(S, B, K)``, global crops first.
            teacher_logits (Tensor): ``(T, B, K)``.

        Returns:
            Tensor: Scalar loss.
        """
        return self.loss_module(student_logits, teacher_logits, self.center,
                                self.student_temp, self.teacher_temp)

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        """EMA of the (all-reduced) batch mean of the teacher outputs."""
        self.center.copy_(
            mugs_center_update(
                self.center,
                teacher_logits.reshape(-1, teacher_logits.shape[-1]),
                self.center_momentum))
