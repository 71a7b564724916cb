from .multi_layer_concat_neck import (MultiLayerConcatNeck,
                                      concat_layer_features)

__all__ = ['MultiLayerConcatNeck', 'concat_layer_features']
