"""MLP builders shared by every head (MGC projector/predictor, Mugs
projectors/predictors, the group head's MLP)."""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from .sync_bn import GlobalBatchNorm1d  # noqa: F401  (registers GlobalBN1d)


def _build(kind: str, builder, cfg: dict, *args) -> nn.Module:
    try:
        return builder(dict(cfg), *args)
    except KeyError as e:
        raise KeyError(
            f'build_mlp: {kind}={cfg!r} cannot be built ({e})') from None


def build_mlp(in_channels: int,
              hidden_channels: int,
              out_channels: int,
              num_layers: int,
              norm_cfg: Optional[dict] = dict(type='GlobalBN1d'),
              act_cfg: dict = dict(type='ReLU'),
              last_norm_cfg: Optional[dict] = None,
              bias: bool = True) -> nn.Sequential:
    """Linear layers with norm and activation between them.

    Layers 1..num_layers-1 are ``Linear(hidden) [-> norm] -> act``; the last
    is ``Linear(out) [-> last norm]``. Norms and activations are built by
    mmcv's ``build_norm_layer`` / ``build_activation_layer``.

    Args:
        in_channels (int): Input width.
        hidden_channels (int): Width of the hidden layers.
        out_channels (int): Output width.
        num_layers (int): Number of linear layers (>= 1).
        norm_cfg (dict, optional): Norm after the hidden layers, or None.
            Defaults to ``dict(type='GlobalBN1d')`` (BatchNorm1d with
            global-batch statistics under DDP).
        act_cfg (dict): Activation after the hidden layers, e.g.
            ``dict(type='ReLU')`` or ``dict(type='GELU')``. Defaults to
            ReLU.
        last_norm_cfg (dict, optional): Norm after the last layer, or None,
            e.g. ``dict(type='GlobalBN1d', affine=False)`` (BN* of MGC
            Table 7). Defaults to None.
        bias (bool): Linear biases. When a norm follows a linear layer the
            bias is redundant and is dropped. Defaults to True.

    Returns:
        nn.Sequential: The MLP.
    """
    if num_layers < 1:
        raise ValueError(f'build_mlp: num_layers must be >= 1, got '
                         f'{num_layers}')
    layers = []
    dim = in_channels
    for _ in range(num_layers - 1):
        layers.append(
            nn.Linear(dim, hidden_channels, bias=bias and norm_cfg is None))
        if norm_cfg is not None:
            layers.append(
                _build('norm_cfg', build_norm_layer, norm_cfg,
                       hidden_channels)[1])
        layers.append(_build('act_cfg', build_activation_layer, act_cfg))
        dim = hidden_channels
    layers.append(
        nn.Linear(dim, out_channels, bias=bias and last_norm_cfg is None))
    if last_norm_cfg is not None:
        layers.append(
            _build('last_norm_cfg', build_norm_layer, last_norm_cfg,
                   out_channels)[1])
    return nn.Sequential(*layers)
