"""Mugs' local-group discrimination (LGDS, paper eq. 2): the top-k
neighbour search in a neighbour buffer and the aggregation transformer
(``g_transformer``) that turns a query token and its neighbours into the
local-group feature.

The neighbour buffers themselves are :class:`FeatureQueue` buffers of the
:class:`Mugs` algorithm, not of this module (see the class docstring of
:class:`Mugs` for why); the InfoNCE head and loss on the local-group
feature are :class:`MugsInfoNCEHead` and :class:`MugsInfoNCELoss`, shared
with instance discrimination.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.registry import MODELS
from torch import Tensor

from ...utils.renamed_args import reject_extra_args


@torch.no_grad()
def mugs_topk_neighbours(query: Tensor,
                         bank: Tensor,
                         k: int,
                         num_valid: Optional[int] = None) -> Tensor:
    """The ``k`` rows of ``bank`` with the highest cosine similarity to each
    query, most similar first. No gradient flows.

    Args:
        query (Tensor): ``(n, dim)`` query tokens.
        bank (Tensor): ``(length, dim)`` neighbour buffer.
        k (int): Number of neighbours.
        num_valid (int, optional): Only the first ``num_valid`` rows of the
            bank were ever written (a FIFO fills slots ``0, 1, ...``); when
            at least ``k`` are, the search is restricted to them so that the
            initial contents never count as neighbours. Defaults to None
            (search the whole bank).

    Returns:
        Tensor: ``(n, k, dim)`` neighbours (raw bank rows, not normalised),
        in the dtype of the bank.
    """
    if query.dim() != 2 or bank.dim() != 2 or query.shape[1] != bank.shape[1]:
        raise ValueError('mugs_topk_neighbours expects query (n, d) and bank '
                         f'(m, d), got {tuple(query.shape)} and '
                         f'{tuple(bank.shape)}')
    if num_valid is not None and k <= num_valid < bank.shape[0]:
        bank = bank[:num_valid]
    if not 0 < k <= bank.shape[0]:
        raise ValueError(f'mugs_topk_neighbours: k={k} must be in [1, '
                         f'{bank.shape[0]}] (the neighbour buffer length)')
    with torch.autocast(device_type=query.device.type, enabled=False):
        # cos(q, b) = (q / |q|) . b / |b|: the bank's row norms scale the
        # (n, length) product instead of a normalised copy of the whole
        # (length, dim) bank (one read of the bank instead of a read, a
        # write and a second read: the bank is 65,536 rows in the paper).
        bank32 = bank.float()
        inv_norm = bank32.norm(dim=1).clamp_min_(1e-12).reciprocal_()
        sim = (F.normalize(query.float(), dim=1) @ bank32.t()).mul_(inv_norm)
        index = sim.topk(k, dim=1).indices
    return bank[index]


def query_only_block(layer: TransformerEncoderLayer, x: Tensor) -> Tensor:
    """``layer(x)[:, :1]`` computed for token 0 alone.

    The output of token 0 depends on every token's key and value, but only
    on token 0's query, residual and MLP. So the last block of the
    aggregator (whose other outputs are discarded) needs keys and values
    for all ``1 + k`` tokens and nothing else for the neighbours: the query
    projection, attention row, output projection and MLP run for one token
    instead of ``1 + k``. Exact (same maths, same dropout / drop-path
    modules), not an approximation.

    Args:
        layer (TransformerEncoderLayer): An mmpretrain pre-norm ViT block
            (without value shortcut).
        x (Tensor): ``(n, T, D)`` tokens.

    Returns:
        Tensor: ``(n, 1, D)``, equal to ``layer(x)[:, :1]``.
    """
    attn = layer.attn
    if attn.v_shortcut:
        raise ValueError('query_only_block does not support v_shortcut')
    n, t, d = x.shape
    h = layer.ln1(x)
    w, b = attn.qkv.weight, attn.qkv.bias
    q = F.linear(h[:, :1], w[:d], None if b is None else b[:d])
    kv = F.linear(h, w[d:], None if b is None else b[d:])
    q = q.reshape(n, 1, attn.num_heads, attn.head_dims).transpose(1, 2)
    k, v = kv.reshape(n, t, 2, attn.num_heads,
                      attn.head_dims).permute(2, 0, 3, 1, 4)
    attn_drop = attn.attn_drop if attn.training else 0.
    out = attn.scaled_dot_product_attention(q, k, v, dropout_p=attn_drop)
    out = out.transpose(1, 2).reshape(n, 1, attn.embed_dims)
    out = attn.out_drop(attn.gamma1(attn.proj_drop(attn.proj(out))))
    y = x[:, :1] + out
    return layer.ffn(layer.ln2(y), identity=y)


@MODELS.register_module()
class MugsAggregator(BaseModule):
    """A small pre-norm ViT over ``[query; k neighbours]``.

    No patch embedding, no position embedding and no extra class token: the
    query token plays the class token, the neighbours the patch tokens, and
    the output is token 0 after a final LayerNorm (the local-group feature
    ``y*``).

    The last block computes token 0 only (:func:`query_only_block`, exact):
    with the released code's single block this removes about three quarters
    of the aggregator's work.

    Differences from the released code, on purpose: ``num_layers`` defaults
    to 2 (the paper's "2-layered vanilla ViT"; the code uses 1, set
    ``num_layers=1`` to reproduce it), and the final LayerNorm belongs to
    the aggregator instead of being the backbone's own final norm (the
    backbone stays a plain mmpretrain ViT, so its checkpoint keys are
    unchanged).

    Args:
        embed_dims (int): Token width (the backbone's).
        num_heads (int): Attention heads.
        feedforward_channels (int): MLP hidden width.
        num_layers (int): Number of blocks. Defaults to 2.
        drop_path_rate (float): Stochastic depth (linearly increasing over
            the blocks). Defaults to 0.
        qkv_bias (bool): Defaults to True.
        norm_cfg (dict): Defaults to ``dict(type='LN', eps=1e-6)``.
        init_cfg (dict, optional): Initialisation config.
    """

    #: Old argument names -> new ones (see :func:`check_renamed_args`).
    RENAMED_ARGS = dict(depth='num_layers')

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 num_layers: int = 2,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        reject_extra_args(kwargs, self.RENAMED_ARGS, 'MugsAggregator')
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'MugsAggregator: num_layers must be >= 1, got '
                             f'{num_layers}')
        dpr = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.layers = nn.ModuleList([
            TransformerEncoderLayer(
                embed_dims=embed_dims,
                num_heads=num_heads,
                feedforward_channels=feedforward_channels,
                drop_path_rate=dpr[i],
                qkv_bias=qkv_bias,
                norm_cfg=norm_cfg) for i in range(num_layers)
        ])
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.embed_dims = embed_dims

    def forward(self, query: Tensor, neighbours: Tensor) -> Tuple[Tensor]:
        """Aggregate.

        Args:
            query (Tensor): ``(n, D)`` query tokens.
            neighbours (Tensor): ``(n, k, D)`` their neighbours.

        Returns:
            tuple[Tensor]: One ``(n, D)`` local-group feature.
        """
        if (query.dim() != 2 or neighbours.dim() != 3
                or neighbours.shape[0] != query.shape[0]
                or neighbours.shape[2] != query.shape[1]):
            raise ValueError('MugsAggregator expects query (n, D) and '
                             'neighbours (n, k, D), got '
                             f'{tuple(query.shape)} and '
                             f'{tuple(neighbours.shape)}')
        x = torch.cat([query.unsqueeze(1), neighbours.to(query.dtype)], dim=1)
        for layer in self.layers[:-1]:
            x = layer(x)
        # only token 0 leaves the last block: compute nothing else there
        x = query_only_block(self.layers[-1], x)
        return (self.norm(x[:, 0]), )
