"""Every downstream config against the "ours" column of the fidelity table
in its benchmark README.

``FIDELITY`` mirrors those tables: for each config under
``configs/{mgc,mugs}/benchmarks``, the settings that change a reproduced
number (lr, batch, schedule, drop path, layer decay, augmentation
probabilities, temperatures, taps, head types, data split) as paths into
the config resolved by ``mmengine.Config.fromfile``. Changing a config
without changing this table (and the README next to the config) fails
the suite.

Path syntax: ``a.b.c`` descends into dicts, ``a[1]`` indexes a list and
``a.{Type}`` picks the one element of a list whose ``type`` is ``Type``
(e.g. a transform of a pipeline); ``a.{Type}#2`` the third such element.
"""
import glob
import os.path as osp
import re

import pytest

from tests._utils import REPO_ROOT

MGC = 'configs/mgc/benchmarks/'
MUGS = 'configs/mugs/benchmarks/'

# --- shared rows ------------------------------------------------------------
MGC_DET = {
    # the authors' code: drop path 0.0, 8-layer-schedule 1x
    'model.backbone.type': 'mmpretrain.StrictPretrainedViT',
    'model.backbone.arch.embed_dims': 384,
    'model.backbone.arch.num_layers': 12,
    'model.backbone.arch.num_heads': 6,
    'model.backbone.drop_path_rate': 0.0,
    'model.backbone.out_indices': [3, 5, 7, 11],
    'model.backbone.final_norm': True,
    'model.backbone.norm_all_taps': True,
    'model.neck[0].type': 'mmpretrain.ViTPyramidNeck',
    'model.neck[0].scale_factors': [4, 2, 1, 0.5],
    'model.neck[0].norm_cfg.type': 'SyncBN',
    'model.neck[1].type': 'FPN',
    'model.neck[1].out_channels': 256,
    'model.neck[1].num_outs': 5,
    'model.type': 'MaskRCNN',
    'model.roi_head.bbox_head.type': 'Shared2FCBBoxHead',
    'model.roi_head.bbox_head.loss_bbox.type': 'L1Loss',
    'model.roi_head.mask_head.type': 'FCNMaskHead',
    'optim_wrapper.type': 'OptimWrapper',
    'optim_wrapper.optimizer.type': 'AdamW',
    'optim_wrapper.paramwise_cfg.norm_decay_mult': 0.0,
    'optim_wrapper.paramwise_cfg.custom_keys.pos_embed.decay_mult': 0.0,
    'optim_wrapper.paramwise_cfg.custom_keys.cls_token.decay_mult': 0.0,
    'optim_wrapper.clip_grad': None,
    'train_cfg.max_epochs': 12,
    'param_scheduler[0].type': 'LinearLR',
    'param_scheduler[0].end': 1000,
    'param_scheduler[0].by_epoch': False,
    'param_scheduler[1].type': 'MultiStepLR',
    'param_scheduler[1].milestones': [8, 11],
    'param_scheduler[1].gamma': 0.1,
    # 8 GPUs x 2 images (the authors: 1 per GPU, GPU count unknown)
    'train_dataloader.batch_size': 2,
    'auto_scale_lr.base_batch_size': 16,
}
MGC_SEG = {
    'model.backbone.type': 'mmpretrain.StrictPretrainedViT',
    'model.backbone.arch.num_heads': 6,
    'model.backbone.drop_path_rate': 0.0,
    'model.backbone.out_indices': [2, 5, 8, 11],
    'model.backbone.norm_all_taps': True,
    'model.neck[0].type': 'mmpretrain.ViTPyramidNeck',
    'model.neck[1].type': 'FPN',
    'model.neck[1].out_channels': 256,
    'model.neck[1].num_outs': 4,
    'model.decode_head.type': 'FPNHead',
    'model.decode_head.channels': 128,
    'model.test_cfg.mode': 'whole',
    'optim_wrapper.optimizer.type': 'AdamW',
    'optim_wrapper.optimizer.lr': 2e-4,
    # the authors' code (the paper's appendix says 0.05)
    'optim_wrapper.optimizer.weight_decay': 0.01,
    'optim_wrapper.paramwise_cfg.norm_decay_mult': 0.0,
    'optim_wrapper.paramwise_cfg.custom_keys.pos_embed.decay_mult': 0.0,
    'train_cfg.max_iters': 40000,
    'param_scheduler[0].type': 'LinearLR',
    'param_scheduler[0].end': 1500,
    'param_scheduler[0].start_factor': 1e-6,
    'param_scheduler[1].type': 'PolyLR',
    'param_scheduler[1].power': 1.0,
    'param_scheduler[1].eta_min': 0.0,
    'param_scheduler[1].end': 40000,
    'train_dataloader.batch_size': 4,  # 4 GPUs x 4
    'crop_size': [512, 512],
}
VITPOSE = {
    'model.backbone.type':
    'mmpretrain.StrictPretrainedViT',
    'model.backbone.arch.num_heads':
    6,
    'model.backbone.img_size': [256, 192],
    'model.backbone.with_cls_token':
    True,
    'model.backbone.patch_cfg.padding':
    0,
    'model.head.type':
    'HeatmapHead',
    'model.head.deconv_out_channels': [256, 256],
    'model.test_cfg.flip_test':
    True,
    'codec.type':
    'UDPHeatmap',
    'codec.heatmap_size': [48, 64],
    'codec.sigma':
    2,
    'optim_wrapper.type':
    'OptimWrapper',
    'optim_wrapper.optimizer.type':
    'AdamW',
    'optim_wrapper.optimizer.lr':
    5e-4,
    'optim_wrapper.optimizer.weight_decay':
    0.05,
    'optim_wrapper.clip_grad':
    None,
    'train_cfg.max_epochs':
    210,
    'param_scheduler[0].end':
    500,
    'param_scheduler[1].milestones': [170, 200],
    'train_dataloader.batch_size':
    64,
    'auto_scale_lr.base_batch_size':
    512,
    'train_dataloader.dataset.pipeline.{RandomFlip}.direction':
    'horizontal',
    'val_dataloader.dataset.bbox_file':
    'data/coco/person_detection_results/'
    'COCO_val2017_detections_AP_H_56_person.json',
}
KNN = {
    'model.backbone.arch.num_heads': 6,
    'model.backbone.final_norm': True,
    'knn.k': 20,
    'test_pipeline.{ResizeEdge}.scale': 256,
    'test_pipeline.{ResizeEdge}.interpolation': 'bicubic',
    'test_pipeline.{CenterCrop}.crop_size': 224,
    'train_dataloader.dataset.pipeline.{CenterCrop}.crop_size': 224,
}
LINEAR = {
    'model.backbone.arch.num_heads': 6,
    'model.backbone.out_indices': [-4, -3, -2, -1],
    'model.backbone.norm_all_taps': True,
    'model.backbone.frozen_stages': 12,
    'model.neck.type': 'MultiLayerConcatNeck',
    'model.neck.num_layers': 4,
    'model.head.in_channels': 1536,
    'optim_wrapper.optimizer.type': 'SGD',
    # the authors' 0.01 per 256 images (ViT-S 800 ep) at batch 1024
    'optim_wrapper.optimizer.lr': 0.04,
    'optim_wrapper.optimizer.momentum': 0.9,
    'optim_wrapper.optimizer.weight_decay': 0.0,
    'param_scheduler[0].type': 'CosineAnnealingLR',
    'param_scheduler[0].eta_min': 0.0,
    'train_cfg.max_epochs': 100,
    'train_dataloader.batch_size': 128,
    'auto_scale_lr.base_batch_size': 1024,
    # the authors' augmentation: flip, RandAugment m9 mstd0.5 (2 ops),
    # RandomResizedCrop 224, RandomErasing 0.25
    'train_dataloader.dataset.pipeline.{RandomFlip}.prob': 0.5,
    'train_dataloader.dataset.pipeline.{RandAugment}.policies':
    'timm_increasing',
    'train_dataloader.dataset.pipeline.{RandAugment}.num_policies': 2,
    'train_dataloader.dataset.pipeline.{RandAugment}.magnitude_level': 9,
    'train_dataloader.dataset.pipeline.{RandAugment}.magnitude_std': 0.5,
    'train_dataloader.dataset.pipeline.{RandomResizedCrop}.scale': 224,
    'train_dataloader.dataset.pipeline.{RandomErasing}.erase_prob': 0.25,
    'train_dataloader.dataset.pipeline.{RandomErasing}.mode': 'rand',
    'default_hooks.checkpoint.save_best': 'accuracy/top1',
}
FINETUNE = {
    'model.backbone.arch': 'deit-small',
    'model.backbone.drop_path_rate': 0.1,
    'model.backbone.out_type': 'cls_token',
    'optim_wrapper.optimizer.type': 'AdamW',
    'optim_wrapper.optimizer.lr': 1.2e-3,
    'optim_wrapper.optimizer.weight_decay': 0.05,
    'optim_wrapper.constructor': 'LearningRateDecayOptimWrapperConstructor',
    'optim_wrapper.paramwise_cfg.layer_decay_rate': 0.55,
    'train_cfg.max_epochs': 200,
    # 20 warm-up epochs (the authors' script)
    'param_scheduler[0].type': 'LinearLR',
    'param_scheduler[0].end': 20,
    'param_scheduler[1].type': 'CosineAnnealingLR',
    'param_scheduler[1].begin': 20,
    'param_scheduler[1].eta_min': 1e-6,
    'train_dataloader.batch_size': 128,
    'auto_scale_lr.base_batch_size': 1024,
    'model.train_cfg.augments[0].type': 'Mixup',
    'model.train_cfg.augments[0].alpha': 0.8,
    'model.train_cfg.augments[1].type': 'CutMix',
    'model.train_cfg.augments[1].alpha': 1.0,
    'model.head.loss.label_smooth_val': 0.1,
    'train_dataloader.dataset.pipeline.{RandAugment}.magnitude_level': 9,
    'train_dataloader.dataset.pipeline.{RandomErasing}.erase_prob': 0.25,
}
SEMI_FT = {
    'model.backbone.drop_path_rate': 0.1,
    'optim_wrapper.optimizer.weight_decay': 0.05,
    'optim_wrapper.paramwise_cfg.layer_decay_rate': 1.0,
    'train_cfg.max_epochs': 1000,
    'param_scheduler[0].end': 5,
    'param_scheduler[1].eta_min': 1e-6,
    'train_dataloader.batch_size': 128,
}
LOGREG = {
    'knn': None,
    'logreg.lr': [0.03, 0.06, 0.1, 0.2],
    'logreg.weight_decay': 0.05,
    'logreg.batch_size': 1024,
    'logreg.epochs': 100,
}

FIDELITY = {
    # ---- MGC: mmdetection ----------------------------------------------
    MGC + 'mmdetection/mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco.py': {
        **MGC_DET,
        'optim_wrapper.optimizer.lr':
        7.5e-5,
        'optim_wrapper.optimizer.weight_decay':
        0.03,
        'model.roi_head.bbox_head.num_classes':
        80,
        'train_dataloader.dataset.pipeline.{RandomFlip}.prob':
        0.5,
        'train_dataloader.dataset.pipeline.{RandomChoice}.transforms[0][0]'
        '.scales': [[s, 1333] for s in range(480, 801, 32)],
        'test_pipeline.{Resize}.scale': [1333, 800],
    },
    MGC + 'mmdetection/mask-rcnn_vit-small-p16-pyramid_fpn_1x_cityscapes.py': {
        **MGC_DET,
        'optim_wrapper.optimizer.lr':
        1e-4,
        'optim_wrapper.optimizer.weight_decay':
        0.05,
        'model.roi_head.bbox_head.num_classes':
        8,
        'model.roi_head.mask_head.num_classes':
        8,
        'train_dataloader.dataset.type':
        'RepeatDataset',
        'train_dataloader.dataset.times':
        8,
        # the authors' rescale range, then a 769 x 769 crop
        'train_dataloader.dataset.dataset.pipeline.{RandomResize}.scale':
        [[2048, 800], [2048, 1024]],
        'train_dataloader.dataset.dataset.pipeline.{RandomResize}'
        '.keep_ratio':
        True,
        'train_dataloader.dataset.dataset.pipeline.{RandomCrop}.crop_size':
        [769, 769],
        'train_dataloader.dataset.dataset.pipeline.{RandomFlip}.prob':
        0.5,
        'test_pipeline.{Resize}.scale': [2048, 1024],
        'val_evaluator.type':
        'CocoMetric',
        'val_evaluator.ann_file':
        'data/cityscapes/annotations/'
        'instancesonly_filtered_gtFine_val.json',
    },
    # ---- MGC: mmsegmentation -------------------------------------------
    MGC + 'mmsegmentation/fpn_vit-small-p16_4xb4-40k_ade20k-512x512.py': {
        **MGC_SEG,
        'model.decode_head.num_classes':
        150,
        'train_dataloader.dataset.pipeline.{LoadAnnotations}'
        '.reduce_zero_label':
        True,
        'train_dataloader.dataset.pipeline.{RandomResize}.ratio_range':
        [0.5, 2.0],
        'train_dataloader.dataset.pipeline.{RandomFlip}.prob':
        0.5,
    },
    MGC + 'mmsegmentation/fpn_vit-small-p16_4xb4-40k_voc12-512x512.py': {
        **MGC_SEG,
        'model.decode_head.num_classes': 21,
        # VOC2012 train (1,464 images), as the authors' code
        'train_dataloader.dataset.type': 'PascalVOCDataset',
        'train_dataloader.dataset.ann_file':
        'ImageSets/Segmentation/train.txt',
        'train_dataloader.dataset.data_prefix.seg_map_path':
        'SegmentationClass',
        'val_dataloader.dataset.ann_file': 'ImageSets/Segmentation/val.txt',
    },
    MGC + 'mmsegmentation/fpn_vit-small-p16_4xb4-40k_voc12aug-512x512.py': {
        **MGC_SEG,
        'model.decode_head.num_classes': 21,
        # second choice: train + SBD aug = 10,582 images
        'train_dataloader.dataset.type': 'ConcatDataset',
        'train_dataloader.dataset.datasets[0].ann_file':
        'ImageSets/Segmentation/train.txt',
        'train_dataloader.dataset.datasets[0].data_prefix.seg_map_path':
        'SegmentationClass',
        'train_dataloader.dataset.datasets[1].ann_file':
        'ImageSets/Segmentation/aug.txt',
        'train_dataloader.dataset.datasets[1].data_prefix.seg_map_path':
        'SegmentationClassAug',
        'val_dataloader.dataset.ann_file': 'ImageSets/Segmentation/val.txt',
    },
    # ---- MGC: mmpose ---------------------------------------------------
    MGC + 'mmpose/td-hm_vit-small-p16_8xb64-210e_coco-256x192.py': {
        **VITPOSE,
        # the authors' released config: no layer decay, no drop path
        'model.backbone.drop_path_rate':
        0.0,
        'optim_wrapper.paramwise_cfg':
        None,
        'optim_wrapper.constructor':
        None,
    },
    MGC + 'mmpose/td-hm_vit-small-p16-ld0.75-dp0.3_8xb64-210e_coco-256x192'
    '.py': {
        **VITPOSE,
        # the paper's appendix
        'model.backbone.drop_path_rate': 0.3,
        'optim_wrapper.constructor': 'LayerDecayOptimWrapperConstructor',
        'optim_wrapper.paramwise_cfg.layer_decay_rate': 0.75,
        'optim_wrapper.paramwise_cfg.num_layers': 12,
    },
    # ---- MGC: classification (no protocol in the MGC paper or code) ----
    MGC + 'classification/vit-small-p16_knn-avg-k20-t0.07_in1k.py': {
        **KNN,
        'model.backbone.out_type': 'featmap',
        'knn.temperature': 0.07,
    },
    MGC + 'classification/vit-small-p16_linear-last4avg-8xb128-coslr-100e_'
    'in1k.py': {
        **LINEAR,
        'model.backbone.out_type': 'featmap',
    },
    MGC + 'classification/vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py':
    FINETUNE,
    # ---- Mugs: mmdetection ---------------------------------------------
    MUGS + 'mmdetection/cascade-mask-rcnn_vit-small-p16-pyramid_fpn_1x_coco'
    '.py': {
        'model.type':
        'CascadeRCNN',
        'model.backbone.type':
        'mmpretrain.StrictPretrainedViT',
        'model.backbone.arch.num_heads':
        6,
        'model.backbone.drop_path_rate':
        0.1,
        'model.backbone.out_indices': [3, 5, 7, 11],
        'model.backbone.norm_all_taps':
        False,
        'model.neck[0].type':
        'mmpretrain.ViTPyramidNeck',
        'model.neck[1].num_outs':
        5,
        # the authors' (iBOT's) heads: 4conv1fc + SyncBN, GIoU x10
        **{
            f'model.roi_head.bbox_head[{i}].{k}': v
            for i in range(3)
            for k, v in {
                'type': 'Shared4Conv1FCBBoxHead',
                'norm_cfg.type': 'SyncBN',
                'loss_bbox.type': 'GIoULoss',
                'loss_bbox.loss_weight': 10.0,
                'reg_decoded_bbox': True,
                'reg_class_agnostic': False,
                'num_classes': 80,
            }.items()
        },
        'model.roi_head.bbox_head[0].bbox_coder.target_stds':
        [0.1, 0.1, 0.2, 0.2],
        'model.roi_head.bbox_head[1].bbox_coder.target_stds':
        [0.05, 0.05, 0.1, 0.1],
        'model.roi_head.bbox_head[2].bbox_coder.target_stds':
        [0.033, 0.033, 0.067, 0.067],
        'optim_wrapper.optimizer.type':
        'AdamW',
        'optim_wrapper.optimizer.lr':
        2e-4,
        'optim_wrapper.optimizer.weight_decay':
        0.05,
        'optim_wrapper.constructor':
        'mmpretrain.ViTLayerDecayOptimWrapperConstructor',
        'optim_wrapper.paramwise_cfg.layer_decay_rate':
        0.8,
        'optim_wrapper.paramwise_cfg.flat_decay_mult':
        0.0,
        'train_cfg.max_epochs':
        12,
        'param_scheduler[0].end':
        500,
        'param_scheduler[1].milestones': [8, 11],
        # 8 GPUs x 4 images
        'train_dataloader.batch_size':
        4,
        'auto_scale_lr.base_batch_size':
        32,
        'train_dataloader.dataset.pipeline.{RandomFlip}.prob':
        0.5,
        'train_dataloader.dataset.pipeline.{RandomChoice}.transforms[0][0]'
        '.scales': [[s, 1333] for s in range(480, 801, 32)],
    },
    # ---- Mugs: mmsegmentation ------------------------------------------
    MUGS + 'mmsegmentation/upernet_vit-small-p16_8xb2-160k_ade20k-512x512'
    '.py': {
        'model.backbone.type': 'mmpretrain.StrictPretrainedViT',
        'model.backbone.arch.num_heads': 6,
        'model.backbone.drop_path_rate': 0.1,
        # the authors' taps, each through the final norm
        'model.backbone.out_indices': [3, 5, 7, 11],
        'model.backbone.norm_all_taps': True,
        'model.decode_head.type': 'UPerHead',
        'model.decode_head.channels': 384,
        'model.decode_head.num_classes': 150,
        'model.auxiliary_head.type': 'FCNHead',
        'model.auxiliary_head.channels': 256,
        'model.auxiliary_head.loss_decode.loss_weight': 0.4,
        'model.test_cfg.mode': 'slide',
        'model.test_cfg.stride': [341, 341],
        'optim_wrapper.optimizer.lr': 3e-5,
        'optim_wrapper.optimizer.weight_decay': 0.05,
        'optim_wrapper.paramwise_cfg.layer_decay_rate': 0.9,
        'optim_wrapper.paramwise_cfg.flat_decay_mult': 0.0,
        'train_cfg.max_iters': 160000,
        'param_scheduler[0].end': 1500,
        'param_scheduler[1].type': 'PolyLR',
        'param_scheduler[1].power': 1.0,
        'train_dataloader.batch_size': 2,  # 8 GPUs x 2 = 16
    },
    # ---- Mugs: classification ------------------------------------------
    MUGS + 'classification/vit-small-p16_knn-k20-t0.05_in1k.py': {
        **KNN,
        'model.backbone.out_type': 'cls_token',
        # the authors' script for ViT-S 800 ep (paper: 0.07)
        'knn.temperature': 0.05,
    },
    MUGS + 'classification/vit-small-p16_linear-last4cls-8xb128-coslr-100e_'
    'in1k.py': {
        **LINEAR,
        'model.backbone.out_type': 'cls_token',
    },
    MUGS + 'classification/vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py':
    FINETUNE,
    MUGS + 'classification/vit-small-p16_ft-1pct-8xb128-1000e_in1k.py': {
        **SEMI_FT,
        'optim_wrapper.optimizer.lr': 2e-6,
        'train_dataloader.dataset.ann_file': 'meta/train_1percent.txt',
    },
    MUGS + 'classification/vit-small-p16_ft-10pct-8xb128-1000e_in1k.py': {
        **SEMI_FT,
        'optim_wrapper.optimizer.lr': 5e-6,
        'train_dataloader.dataset.ann_file': 'meta/train_10percent.txt',
    },
    MUGS + 'classification/vit-small-p16_logreg-1pct_in1k.py': {
        **LOGREG,
        'train_dataloader.dataset.ann_file': 'meta/train_1percent.txt',
    },
    MUGS + 'classification/vit-small-p16_logreg-10pct_in1k.py': {
        **LOGREG,
        'train_dataloader.dataset.ann_file': 'meta/train_10percent.txt',
    },
    # ---- Mugs: DAVIS ---------------------------------------------------
    MUGS + 'davis/davis2017_vit-base-p16_label-propagation.py': {
        'model.arch': 'base',
        'model.out_type': 'featmap',
        'model.final_norm': True,
        # the authors' script: first frame + 20 previous frames
        'propagation.n_last_frames': 20,
        'propagation.topk': 5,
        'propagation.temperature': 0.1,
        'propagation.radius': 12,
        'data.short_side': 480,
        'metric.bound_th': 0.008,
    },
}

_MISSING = object()
_STEP = re.compile(r'([^.\[\]{}]+)|\[(\d+)\]|\{(\w+)\}(?:#(\d+))?')


def _steps(path: str):
    """Split ``a.b[1].{Type}#2.c`` into ('key', 'a'), ('key', 'b'),
    ('index', 1), ('type', ('Type', 2)), ('key', 'c')."""
    out = []
    for part in path.split('.'):
        pos = 0
        while pos < len(part):
            m = _STEP.match(part, pos)
            assert m and m.end() > pos, f'bad path {path!r}'
            key, index, typ, nth = m.groups()
            if key is not None:
                out.append(('key', key))
            elif index is not None:
                out.append(('index', int(index)))
            else:
                out.append(('type', (typ, int(nth or 0))))
            pos = m.end()
    return out


def resolve(cfg, path: str):
    """The value at ``path`` in a resolved config, or ``_MISSING``."""
    node = cfg
    for kind, arg in _steps(path):
        if kind == 'key':
            if not hasattr(node, 'get') or arg not in node:
                return _MISSING
            node = node[arg]
        elif kind == 'index':
            if not isinstance(node, (list, tuple)) or arg >= len(node):
                return _MISSING
            node = node[arg]
        else:
            typ, nth = arg
            hits = [
                t for t in node if hasattr(t, 'get') and t.get('type') == typ
            ]
            if len(hits) <= nth:
                return _MISSING
            node = hits[nth]
    return node


def _plain(v):
    """Tuples -> lists (mmengine keeps either), ConfigDicts -> dicts."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, 'items'):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _same(actual, expected) -> bool:
    actual, expected = _plain(actual), _plain(expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return actual == pytest.approx(expected, rel=1e-9, abs=0.)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            _same(a, e) for a, e in zip(actual, expected))
    return actual == expected


def _benchmark_configs():
    return sorted(
        osp.relpath(p, REPO_ROOT) for algo in ('mgc', 'mugs')
        for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', algo, 'benchmarks', '*', '*.py')))


def test_every_downstream_config_has_a_table():
    found = set(_benchmark_configs())
    assert found == set(FIDELITY), (
        f'configs without a fidelity row: {sorted(found - set(FIDELITY))}; '
        f'rows without a config: {sorted(set(FIDELITY) - found)}')


@pytest.mark.parametrize(
    'config',
    sorted(FIDELITY),
    ids=[osp.basename(c)[:-3] for c in sorted(FIDELITY)])
def test_config_matches_its_fidelity_table(config):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    wrong = []
    for path, expected in FIDELITY[config].items():
        actual = resolve(cfg, path)
        if expected is None:
            ok = actual is _MISSING or actual is None
        else:
            ok = actual is not _MISSING and _same(actual, expected)
        if not ok:
            shown = '<missing>' if actual is _MISSING else _plain(actual)
            wrong.append(f'{path}: config has {shown!r}, the fidelity '
                         f'table says {expected!r}')
    assert not wrong, f'{config}:\n  ' + '\n  '.join(wrong)


@pytest.mark.parametrize(
    'config',
    sorted(FIDELITY),
    ids=[osp.basename(c)[:-3] for c in sorted(FIDELITY)])
def test_readme_has_a_fidelity_table_for_the_config(config):
    """The config's README has a "Fidelity" section that names it, with a
    ``| setting | paper | authors' code | ours |`` table."""
    readme = osp.join(REPO_ROOT, osp.dirname(config), 'README.md')
    text = open(readme, encoding='utf-8').read()
    assert '## Fidelity' in text, f'{readme}: no "## Fidelity" section'
    section = text[text.index('## Fidelity'):]
    nxt = section.find('\n## ', 4)
    section = section if nxt < 0 else section[:nxt]
    assert osp.basename(config) in section, (
        f'{readme}: the fidelity section does not name '
        f'{osp.basename(config)}')
    assert re.search(r"\| setting \| paper \| authors' code \| ours \|",
                     section), f'{readme}: no fidelity table header'


def test_resolve_paths():
    """The path syntax the table uses."""
    from mmengine.config import ConfigDict
    cfg = ConfigDict(
        a=dict(
            b=[dict(type='X', v=1),
               dict(type='Y', v=2),
               dict(type='X', v=3)]),
        c=(1, 2))
    assert resolve(cfg, 'a.b[1].v') == 2
    assert resolve(cfg, 'a.b.{X}.v') == 1
    assert resolve(cfg, 'a.b.{X}#1.v') == 3
    assert resolve(cfg, 'a.b.{Z}.v') is _MISSING
    assert resolve(cfg, 'a.nope') is _MISSING
    assert _same(resolve(cfg, 'c'), [1, 2])
    assert not _same(1, True) and not _same(0.1, 0.2)
