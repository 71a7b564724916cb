from .ema import EMATeacher, cosine_decay, ema_update_
from .mgc_correspondence import (areas_from_overlaps, cell_overlaps,
                                 correspondence_areas, correspondence_targets,
                                 normalize_rows, overlapping_cells, row_areas)
from .mgc_sampling import (CellPairs, all_key_cells, grid_avg_pool,
                           overlapped_key_cells, sample_cell_pairs,
                           sample_query_cells, targets_over_keys)
from .mlp import build_mlp
from .queue import FeatureQueue
from .sync_bn import GlobalBatchNorm1d

__all__ = [
    'EMATeacher', 'cosine_decay', 'ema_update_', 'build_mlp', 'FeatureQueue',
    'GlobalBatchNorm1d', 'correspondence_targets', 'correspondence_areas',
    'normalize_rows', 'cell_overlaps', 'areas_from_overlaps', 'row_areas',
    'grid_avg_pool', 'sample_query_cells', 'overlapped_key_cells',
    'all_key_cells', 'targets_over_keys', 'overlapping_cells', 'CellPairs',
    'sample_cell_pairs'
]
