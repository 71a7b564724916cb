from .correspondence import (areas_from_overlaps, cell_overlaps,
                             correspondence_areas, correspondence_targets,
                             normalize_rows, row_areas)
from .ema import EMATeacher, cosine_decay, ema_update_
from .grid_pool import grid_avg_pool
from .mlp import build_mlp
from .mugs_centering import mugs_center_update
from .mugs_neighbours import mugs_topk_neighbours
from .mugs_pairing import mugs_crop_pairs, mugs_pair_weights
from .mugs_schedules import mugs_teacher_temperature
from .queue import FeatureQueue
from .sampling import (all_key_cells, gather_targets, overlapped_key_cells,
                       sample_query_cells)
from .sync_bn import GlobalBatchNorm1d

__all__ = [
    'EMATeacher', 'cosine_decay', 'ema_update_', 'build_mlp', 'FeatureQueue',
    'GlobalBatchNorm1d', 'mugs_center_update',
    'mugs_topk_neighbours', 'mugs_crop_pairs', 'mugs_pair_weights',
    'mugs_teacher_temperature',
    'correspondence_targets', 'correspondence_areas', 'normalize_rows',
    'cell_overlaps', 'areas_from_overlaps', 'row_areas', 'grid_avg_pool',
    'sample_query_cells', 'overlapped_key_cells', 'all_key_cells',
    'gather_targets'
]
