from .attention_figure import attention_picture
from .dataloader_features import (build_feature_model,
                                  extract_dataloader_features)
from .davis_metrics import (boundary_f_measure, davis_j_and_f,
                            region_similarity, sequence_j_and_f)
from .davis_propagation import build_davis_backbone, davis_from_config
from .demo_data import (EVAL_GENERATORS, demo_items, demo_scenes,
                        eval_dataset_of, eval_generator, labelled_items,
                        make_views, to_input)
from .demo_report import (demo_report, format_report, method_name,
                          probe_features)
from .dense_probe import (confusion_matrix, dense_linear_probe,
                          extract_patch_features, iou_per_class, mean_iou,
                          patch_label_distribution)
from .feature_protocols import (knn_from_config, logreg_from_config,
                                train_val_features)
from .frozen_backbone import (backbone_from_config, build_frozen_backbone,
                              load_pretrained_backbone, norm_stats)
from .knn import extract_features, knn_classify, knn_top1
from .knn_items import auto_feature, knn_on_items
from .label_propagation import propagate_labels, propagate_video
from .linear_probe import (PROBE_LRS, LinearProbe, fit_linear_probe,
                           linear_probe_top1, select_probe_lr)
from .logistic_regression import sweep_logistic_regression
from .quick_pretrain import quick_pretrain_knn
from .seed_stats import mean_std
from .shortcut_check import view_retrieval

__all__ = [
    'build_feature_model', 'extract_dataloader_features',
    'sweep_logistic_regression', 'build_frozen_backbone',
    'load_pretrained_backbone', 'extract_features', 'knn_classify', 'knn_top1',
    'region_similarity', 'boundary_f_measure', 'sequence_j_and_f',
    'davis_j_and_f', 'propagate_labels', 'propagate_video',
    'patch_label_distribution', 'extract_patch_features', 'confusion_matrix',
    'iou_per_class', 'mean_iou', 'dense_linear_probe', 'LinearProbe',
    'fit_linear_probe', 'linear_probe_top1', 'build_davis_backbone',
    'davis_from_config', 'demo_items', 'demo_scenes', 'labelled_items',
    'make_views', 'to_input', 'knn_from_config', 'logreg_from_config',
    'train_val_features', 'backbone_from_config', 'norm_stats', 'auto_feature',
    'knn_on_items', 'quick_pretrain_knn', 'PROBE_LRS', 'select_probe_lr',
    'EVAL_GENERATORS', 'eval_dataset_of', 'eval_generator',
    'attention_picture', 'demo_report', 'format_report', 'method_name',
    'probe_features', 'view_retrieval', 'mean_std'
]
