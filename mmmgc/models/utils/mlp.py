"""MLP builders shared by every head (MGC projector/predictor, Mugs
projectors/predictors, the group head's MLP)."""
from typing import Optional

import torch.nn as nn

from .sync_bn import batch_norm_1d

_ACTS = {'ReLU': nn.ReLU, 'GELU': nn.GELU}


def build_mlp(in_channels: int,
              hidden_channels: int,
              out_channels: int,
              num_layers: int,
              norm: Optional[str] = 'BN',
              act: str = 'ReLU',
              last_norm: Optional[str] = None,
              bias: bool = True) -> nn.Sequential:
    """Linear layers with norm and activation between them.

    Layers 1..num_layers-1 are ``Linear(hidden) [-> norm] -> act``; the last
    is ``Linear(out) [-> last_norm]``.

    Args:
        in_channels (int): Input width.
        hidden_channels (int): Width of the hidden layers.
        out_channels (int): Output width.
        num_layers (int): Number of linear layers (>= 1).
        norm (str, optional): ``'BN'`` (global-batch BatchNorm1d) or None
            after hidden layers. Defaults to ``'BN'``.
        act (str): ``'ReLU'`` or ``'GELU'``. Defaults to ``'ReLU'``.
        last_norm (str, optional): ``'BN'``, ``'BN_noaffine'`` (BN* of MGC
            Table 7) or None after the last layer. Defaults to None.
        bias (bool): Linear biases. When a BN follows a linear layer the
            bias is redundant and is dropped. Defaults to True.

    Returns:
        nn.Sequential: The MLP.
    """
    if num_layers < 1:
        raise ValueError(f'build_mlp: num_layers must be >= 1, got '
                         f'{num_layers}')
    if act not in _ACTS:
        raise ValueError(f'build_mlp: act must be one of {list(_ACTS)}, got '
                         f'{act!r}')
    for name, val, allowed in (('norm', norm, (None, 'BN')),
                               ('last_norm', last_norm,
                                (None, 'BN', 'BN_noaffine'))):
        if val not in allowed:
            raise ValueError(f'build_mlp: {name} must be one of {allowed}, '
                             f'got {val!r}')
    layers = []
    dim = in_channels
    for _ in range(num_layers - 1):
        layers.append(nn.Linear(dim, hidden_channels,
                                bias=bias and norm is None))
        if norm == 'BN':
            layers.append(batch_norm_1d(hidden_channels))
        layers.append(_ACTS[act]())
        dim = hidden_channels
    layers.append(nn.Linear(dim, out_channels,
                            bias=bias and last_norm is None))
    if last_norm is not None:
        layers.append(
            batch_norm_1d(out_channels, affine=last_norm == 'BN'))
    return nn.Sequential(*layers)
