"""The prediction head H of MGC and its contrastive loss (paper Eq. 3)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from ...utils.dist import (all_gather_sizes, concat_all_gather_varsize,
                           is_multi_rank)
from ..utils import build_mlp


def place_local_targets(targets: Tensor, sizes: Sequence[int],
                        rank: int) -> Tensor:
    """Put local targets ``(Q, K_local)`` at this rank's columns of the
    global key list (keys are gathered in rank order)."""
    if len(sizes) == 1:
        return targets
    offset = int(sum(sizes[:rank]))
    out = targets.new_zeros(targets.shape[0], int(sum(sizes)))
    out[:, offset:offset + targets.shape[1]] = targets
    return out


@MODELS.register_module()
class MGCHead(BaseModule):
    """Predictor of MGC and the soft-target contrastive loss.

    Table 7 predictor: ``Linear(2048)-BN-ReLU, Linear(128)-BN*``. Queries
    (online projector output) go through the predictor; keys (momentum
    projector output, no gradient) of EVERY image of the global batch are
    all-gathered, and each query is contrasted against all keys of its
    granularity (the softmax of Eq. 3 runs over the global batch). The
    similarity and the softmax run in fp32 with autocast disabled.

    Args:
        in_channels (int): Projector output width. Defaults to 128.
        hid_channels (int): Hidden width. Defaults to 2048.
        out_channels (int): Output width (must equal the key width).
            Defaults to 128.
        num_layers (int): Linear layers. Defaults to 2.
        num_branches (int): Number of granularities; :class:`MGC` sets it
            from ``model.granularities``. Defaults to 3 (for the default
            granularities (1, 2, 7)).
        shared (bool): One predictor for all granularities, else one per
            granularity (``num_branches`` of them). Defaults to True.
        temperature (float): tau of Eq. 3. Defaults to 0.1 (public code).
        loss (dict): Loss config. Defaults to
            ``dict(type='MGCSoftTargetLoss')``.
        granularity_weights (Sequence[float], optional): One weight per
            granularity, normalised to sum to 1; the loss of granularity
            ``i`` is multiplied by ``w_i / sum(w)``. The public code weights
            its three granularities by their pair counts, 10 : 10 : 2, over
            22. None keeps every weight at 1 (the paper's plain sum over
            granularities, Eq. 4). Defaults to None.
        direction_reduction (str): How the two directions (view 1 -> 2 and
            2 -> 1) of one granularity are combined: ``'mean'`` (the paper's
            symmetrisation) or ``'sum'`` (the public code). Defaults to
            ``'mean'``.
        per_direction_bn (bool): Run the projector and the predictor once
            per direction, so that their batch statistics are those of one
            view's cells (the public code calls its heads per view), instead
            of once over the cells of both directions. :class:`MGC` reads
            this flag for the projector calls. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 128,
                 hid_channels: int = 2048,
                 out_channels: int = 128,
                 num_layers: int = 2,
                 num_branches: int = 3,
                 shared: bool = True,
                 temperature: float = 0.1,
                 loss: dict = dict(type='MGCSoftTargetLoss'),
                 granularity_weights: Optional[Sequence[float]] = None,
                 direction_reduction: str = 'mean',
                 per_direction_bn: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f'MGCHead: temperature must be > 0, got '
                             f'{temperature}')
        if direction_reduction not in ('mean', 'sum'):
            raise ValueError("MGCHead: direction_reduction must be 'mean' or "
                             f"'sum', got {direction_reduction!r}")
        if int(num_branches) < 1:
            raise ValueError('MGCHead: num_branches must be >= 1, got '
                             f'{num_branches}')
        self.num_branches = int(num_branches)
        if granularity_weights is None:
            self.granularity_weights = tuple(1.0
                                             for _ in range(self.num_branches))
        else:
            w = tuple(float(v) for v in granularity_weights)
            if len(w) != self.num_branches or min(w) < 0 or sum(w) <= 0:
                raise ValueError(
                    f'model.head.granularity_weights={tuple(w)} must give one '
                    'non-negative weight per granularity of '
                    f'model.granularities ({self.num_branches}), with a '
                    'positive sum')
            self.granularity_weights = tuple(v / sum(w) for v in w)
        self.direction_reduction = direction_reduction
        self.per_direction_bn = per_direction_bn
        self.shared = shared
        self.temperature = temperature
        n = 1 if shared else self.num_branches
        self.predictors = nn.ModuleList(
            build_mlp(
                in_channels,
                hid_channels,
                out_channels,
                num_layers,
                norm_cfg=dict(type='GlobalBN1d'),
                act_cfg=dict(type='ReLU'),
                last_norm_cfg=dict(type='GlobalBN1d', affine=False))
            for _ in range(n))
        self.loss_module = MODELS.build(loss)

    def predict_queries(self, queries: Tensor, index: int) -> Tensor:
        """Apply the predictor of granularity number ``index``."""
        return self.predictors[0 if self.shared else index](queries)

    def contrast(self, queries: Tensor, keys: Tensor, targets: Tensor,
                 num_images: int) -> Tensor:
        """Loss of predicted queries against the global keys.

        Args:
            queries (Tensor): ``(Q, D)`` predictor outputs.
            keys (Tensor): ``(K_local, D)`` local keys (no gradient).
            targets (Tensor): ``(Q, K_local)`` targets over the local keys.
            num_images (int): Images in the local batch.

        Returns:
            Tensor: Scalar loss.
        """
        device_type = queries.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            q = F.normalize(queries.float(), dim=1)
            k = F.normalize(keys.detach().float(), dim=1)
            if is_multi_rank():
                sizes = all_gather_sizes(k.shape[0], device=k.device)
                k = concat_all_gather_varsize(k)
                targets = place_local_targets(targets.float(), sizes,
                                              get_rank())
            logits = q @ k.t() / self.temperature
            return self.loss_module(logits, targets.float(), num_images)

    def loss(self, queries: Tensor, keys: Sequence[Tensor],
             targets: Sequence[Tensor], index: int, num_images: int) -> Tensor:
        """Loss of one granularity over one or more directions, combined by
        ``direction_reduction`` and weighted by ``granularity_weights``.

        Args:
            queries (Tensor): ``(Q_1 + Q_2 + ..., D)`` projected queries of
                every direction, concatenated (the predictor's batch
                statistics span them, as the projector's do, unless
                ``per_direction_bn``).
            keys (Sequence[Tensor]): Per direction, ``(K_d, D)`` keys.
            targets (Sequence[Tensor]): Per direction, ``(Q_d, K_d)``.
            index (int): Position of the granularity in
                ``model.granularities``.
            num_images (int): Images in the local batch.

        Returns:
            Tensor: The weighted combination (a scalar).
        """
        splits = [int(t.shape[0]) for t in targets]
        if sum(splits) != queries.shape[0]:
            raise ValueError(f'MGCHead.loss: {queries.shape[0]} queries but '
                             f'targets have {splits} rows')
        if self.per_direction_bn:
            preds = [
                self.predict_queries(q, index) for q in queries.split(splits)
            ]
        else:
            preds = self.predict_queries(queries, index).split(splits)
        per_dir = [
            self.contrast(q, k, t, num_images)
            for q, k, t in zip(preds, keys, targets)
        ]
        total = sum(per_dir)
        if self.direction_reduction == 'mean':
            total = total / len(per_dir)
        return self.granularity_weights[index] * total


__all__ = ['MGCHead', 'place_local_targets']
