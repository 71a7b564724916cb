"""Layer-wise lr decay for a ViT backbone inside any downstream model."""
import functools
from typing import Callable, List, Optional

import torch.nn as nn
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-decay constructor for models that keep their ViT at
    ``model.backbone`` (mmdet detectors, mmseg segmentors, mmpose pose
    estimators, mmpretrain classifiers).

    mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the top
    model for ``get_layer_depth``, which only mmpretrain's classifiers
    have. This subclass takes it from ``model.backbone`` (an
    ``mmpretrain.VisionTransformer`` or subclass) with prefix
    ``'backbone.'``: the patch embedding, ``cls_token`` and ``pos_embed`` get
    depth 0, block ``i`` depth ``i + 1``, and everything else (final norm,
    neck, heads) the top depth, i.e. lr scale 1. Parameter ``p`` gets
    ``lr = base_lr * layer_decay_rate ** (num_layers + 1 - depth(p))``.

    From mmdet / mmseg / mmpose configs::

        optim_wrapper = dict(
            constructor='mmpretrain.ViTLayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.8, ...))

    ``paramwise_cfg`` keys: ``layer_decay_rate``, ``bias_decay_mult``,
    ``norm_decay_mult``, ``flat_decay_mult``, ``custom_keys`` (only
    ``decay_mult`` is honoured there), as in mmpretrain.

    Args:
        optim_wrapper_cfg (dict): The optim wrapper config.
        paramwise_cfg (dict, optional): See above.
    """
    ALLOWED_KEYS = {
        'layer_decay_rate', 'bias_decay_mult', 'norm_decay_mult',
        'flat_decay_mult', 'custom_keys'
    }

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        unknown = set(paramwise_cfg or {}) - self.ALLOWED_KEYS
        if unknown:
            raise KeyError(
                'ViTLayerDecayOptimWrapperConstructor: unknown '
                f'optim_wrapper.paramwise_cfg key(s) {sorted(unknown)}; '
                f'allowed: {sorted(self.ALLOWED_KEYS)}')
        for key, cfg in (paramwise_cfg or {}).get('custom_keys', {}).items():
            if 'lr_mult' in cfg:
                raise KeyError(
                    'ViTLayerDecayOptimWrapperConstructor: custom_keys['
                    f'{key!r}] sets lr_mult, which layer decay ignores')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        """Add parameter groups; see the class docstring."""
        if prefix == '' and get_layer_depth is None and not hasattr(
                module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if backbone is None or not hasattr(backbone, 'get_layer_depth'):
                raise TypeError('ViTLayerDecayOptimWrapperConstructor needs '
                                'model.backbone with get_layer_depth (an '
                                'mmpretrain.VisionTransformer); got '
                                f'{type(module).__name__}.backbone = '
                                f'{type(backbone).__name__}')
            get_layer_depth = functools.partial(
                backbone.get_layer_depth, prefix='backbone.')
        super().add_params(
            params, module, prefix=prefix, get_layer_depth=get_layer_depth)
