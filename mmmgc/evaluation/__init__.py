from .dataloader_features import (build_feature_model,
                                  extract_dataloader_features)
from .davis_metrics import (boundary_f_measure, davis_j_and_f,
                            region_similarity, sequence_j_and_f)
from .dense_probe import (confusion_matrix, dense_linear_probe,
                          extract_patch_features, iou_per_class, mean_iou,
                          patch_label_distribution)
from .frozen_backbone import build_frozen_backbone, load_pretrained_backbone
from .knn import extract_features, knn_classify, knn_top1
from .label_propagation import propagate_labels, propagate_video
from .linear_probe import LinearProbe, fit_linear_probe, linear_probe_top1
from .logistic_regression import sweep_logistic_regression
from .shortcut_check import view_retrieval

__all__ = [
    'build_feature_model', 'extract_dataloader_features',
    'sweep_logistic_regression', 'build_frozen_backbone',
    'load_pretrained_backbone',
    'extract_features', 'knn_classify', 'knn_top1', 'region_similarity',
    'boundary_f_measure', 'sequence_j_and_f', 'davis_j_and_f',
    'propagate_labels', 'propagate_video', 'patch_label_distribution',
    'extract_patch_features', 'confusion_matrix', 'iou_per_class',
    'mean_iou', 'dense_linear_probe', 'LinearProbe', 'fit_linear_probe',
    'linear_probe_top1', 'view_retrieval'
]
