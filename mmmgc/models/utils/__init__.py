from .ema import EMATeacher, cosine_decay, ema_update_
from .gather import (all_gather_sizes, all_reduce_mean,
                     all_reduce_sum_with_grad, concat_all_gather,
                     concat_all_gather_varsize, get_rank, get_world_size,
                     is_distributed)
from .mgc_correspondence import (areas_from_overlaps, cell_overlaps,
                                 correspondence_areas, correspondence_targets,
                                 normalize_rows, overlapping_cells, row_areas)
from .mgc_sampling import (CellPairs, all_key_cells, grid_avg_pool,
                           overlapped_key_cells, sample_cell_pairs,
                           sample_query_cells, targets_over_keys)
from .mlp import build_mlp
from .queue import FeatureQueue
from .strict_load import (BackboneCheckpointError, StrictPretrainedInitMixin,
                          TransferReport, compare_checkpoint,
                          load_checkpoint_strict, read_checkpoint,
                          read_state_dict)
from .sync_bn import GlobalBatchNorm1d, batch_norm_1d

__all__ = [
    'EMATeacher', 'cosine_decay', 'ema_update_', 'all_gather_sizes',
    'all_reduce_mean', 'all_reduce_sum_with_grad', 'concat_all_gather',
    'concat_all_gather_varsize', 'get_rank', 'get_world_size',
    'is_distributed', 'build_mlp', 'FeatureQueue', 'GlobalBatchNorm1d',
    'batch_norm_1d',
    'BackboneCheckpointError', 'StrictPretrainedInitMixin', 'TransferReport',
    'compare_checkpoint', 'load_checkpoint_strict', 'read_state_dict',
    'read_checkpoint',
    'correspondence_targets', 'correspondence_areas', 'normalize_rows',
    'cell_overlaps', 'areas_from_overlaps', 'row_areas', 'grid_avg_pool',
    'sample_query_cells', 'overlapped_key_cells', 'all_key_cells',
    'targets_over_keys', 'overlapping_cells', 'CellPairs',
    'sample_cell_pairs'
]
