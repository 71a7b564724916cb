"""The projection head G of MGC (paper Table 7)."""
from typing import Optional, Tuple

from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from ..utils import build_mlp


@MODELS.register_module()
class MGCProjectionNeck(BaseModule):
    """Projector of MGC: an MLP applied to pooled cell tokens.

    Table 7: ``Linear(2048)-BN-ReLU, Linear(2048)-BN-ReLU, Linear(128)-BN*``
    (BN* has no affine parameters); BN statistics span the global batch
    under DDP (:class:`GlobalBatchNorm1d`). One projector is shared by all
    granularities (default), or each granularity has its own (the public
    code). Each call processes the tokens of ONE granularity, so the batch
    statistics never mix granularities.

    Args:
        in_channels (int): Token width (backbone ``embed_dims``).
        hid_channels (int): Hidden width. Defaults to 2048.
        out_channels (int): Output width. Defaults to 128.
        num_layers (int): Linear layers. Defaults to 3.
        num_branches (int): Number of granularities; :class:`MGC` sets it
            from ``model.granularities``. Defaults to 3 (for the default
            granularities (1, 2, 7)).
        shared (bool): One projector for all granularities, else one per
            granularity (``num_branches`` of them). Defaults to True.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 out_channels: int = 128,
                 num_layers: int = 3,
                 num_branches: int = 3,
                 shared: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(num_branches) < 1:
            raise ValueError('MGCProjectionNeck: num_branches must be >= 1, '
                             f'got {num_branches}')
        self.num_branches = int(num_branches)
        self.shared = shared
        n = 1 if shared else self.num_branches
        self.projectors = nn.ModuleList(
            build_mlp(
                in_channels,
                hid_channels,
                out_channels,
                num_layers,
                norm_cfg=dict(type='GlobalBN1d'),
                act_cfg=dict(type='ReLU'),
                last_norm_cfg=dict(type='GlobalBN1d', affine=False))
            for _ in range(n))

    def forward(self, inputs: Tuple[Tensor], index: int = 0) -> Tuple[Tensor]:
        """Project the ``(N, C)`` tokens of granularity number ``index``.

        Args:
            inputs (tuple[Tensor]): ``(tokens,)`` with ``tokens`` ``(N, C)``.
            index (int): Position of the granularity in
                ``model.granularities``.

        Returns:
            tuple[Tensor]: ``(N, out_channels)``.
        """
        proj = self.projectors[0 if self.shared else index]
        return (proj(inputs[0]), )


__all__ = ['MGCProjectionNeck']
