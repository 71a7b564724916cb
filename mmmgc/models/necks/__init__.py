from .mgc_projection_neck import MGCProjectionNeck
from .mugs_local_group import (MugsAggregator, mugs_topk_neighbours,
                               query_only_block)
from .multi_layer_concat_neck import (MultiLayerConcatNeck,
                                      concat_layer_features)
from .vit_pyramid_neck import ViTPyramidNeck

__all__ = [
    'ViTPyramidNeck', 'MultiLayerConcatNeck', 'concat_layer_features',
    'MGCProjectionNeck', 'MugsAggregator', 'mugs_topk_neighbours',
    'query_only_block'
]
