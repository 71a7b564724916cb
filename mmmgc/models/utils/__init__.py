from .ema import EMATeacher, cosine_decay, ema_update_
from .gather import (all_gather_sizes, all_reduce_mean,
                     all_reduce_sum_with_grad, concat_all_gather,
                     concat_all_gather_varsize, get_rank, get_world_size,
                     is_distributed)
from .mlp import build_mlp
from .mugs_centering import mugs_center_update
from .mugs_neighbours import mugs_topk_neighbours
from .mugs_pairing import mugs_crop_pairs, mugs_pair_weights
from .mugs_schedules import mugs_teacher_temperature
from .queue import FeatureQueue
from .strict_load import (BackboneCheckpointError, StrictPretrainedInitMixin,
                          TransferReport, compare_checkpoint,
                          load_checkpoint_strict, read_state_dict)
from .sync_bn import GlobalBatchNorm1d, batch_norm_1d

__all__ = [
    'EMATeacher', 'cosine_decay', 'ema_update_', 'all_gather_sizes',
    'all_reduce_mean', 'all_reduce_sum_with_grad', 'concat_all_gather',
    'concat_all_gather_varsize', 'get_rank', 'get_world_size',
    'is_distributed', 'build_mlp', 'FeatureQueue', 'GlobalBatchNorm1d',
    'batch_norm_1d', 'mugs_center_update', 'mugs_topk_neighbours',
    'mugs_crop_pairs', 'mugs_pair_weights', 'mugs_teacher_temperature',
    'BackboneCheckpointError', 'StrictPretrainedInitMixin',
    'TransferReport', 'compare_checkpoint', 'load_checkpoint_strict',
    'read_state_dict'
]
