from .davis_metrics import (boundary_f_measure, davis_j_and_f,
                            region_similarity, sequence_j_and_f)
from .knn import extract_features, knn_classify, knn_top1
from .label_propagation import propagate_labels, propagate_video

__all__ = [
    'extract_features', 'knn_classify', 'knn_top1', 'region_similarity',
    'boundary_f_measure', 'sequence_j_and_f', 'davis_j_and_f',
    'propagate_labels', 'propagate_video'
]
