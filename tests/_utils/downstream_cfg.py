"""Shrink a downstream config (mmdet / mmseg) to a tiny ViT and the
synthetic data of :mod:`downstream_data`, keeping its structure: the same
model types, pipelines (scales divided by 8), schedulers and evaluators."""
import os.path as osp
import uuid
from typing import Optional

import torch
from mmengine.config import Config

from tests._utils.downstream_data import CITYSCAPES_CLASSES, COCO_CLASSES
from tests._utils.tiny_vit import tiny_vit_arch

TINY_EMBED = 64
TINY_LAYERS = 4
SCALE = 1 / 8
# full-size channel widths -> tiny ones (384 is the ViT-S width)
CHANNELS = {384: TINY_EMBED, 256: 32, 512: 32, 1024: 64, 128: 16}
CHANNEL_KEYS = {
    'in_channels', 'out_channels', 'feat_channels', 'fc_out_channels',
    'conv_out_channels', 'channels'
}
SIZE_KEYS = {'scale', 'scales', 'crop_size', 'size', 'stride'}


def tiny_vit_state_dict(num_layers: int = TINY_LAYERS,
                        img_size: int = 64,
                        patch_size: int = 16,
                        seed: int = 0) -> dict:
    """mmpretrain-format ViT weights, all tensors far from any init."""
    from mmpretrain.models import VisionTransformer
    vit = VisionTransformer(
        arch=tiny_vit_arch(TINY_EMBED, num_layers),
        img_size=img_size,
        patch_size=patch_size)
    g = torch.Generator().manual_seed(seed)
    return {
        k: torch.randn(v.shape, generator=g) * 0.5 + 0.25
        for k, v in vit.state_dict().items()
    }


def _map_channels(v):
    if isinstance(v, int):
        return CHANNELS.get(v, v)
    if isinstance(v, (list, tuple)):
        return type(v)(_map_channels(x) for x in v)
    return v


def _shrink_channels(node) -> None:
    if isinstance(node, dict):
        for k in list(node.keys()):
            if k in CHANNEL_KEYS:
                node[k] = _map_channels(node[k])
            else:
                _shrink_channels(node[k])
    elif isinstance(node, list):
        for x in node:
            _shrink_channels(x)


def _scale_size(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return max(8, int(round(v * SCALE)))
    if isinstance(v, (list, tuple)):
        return type(v)(_scale_size(x) for x in v)
    return v


def _shrink_sizes(node) -> None:
    """Divide every pipeline / sliding-window size by 8."""
    if isinstance(node, dict):
        for k in list(node.keys()):
            if k in SIZE_KEYS and node[k] is not None:
                node[k] = _scale_size(node[k])
            else:
                _shrink_sizes(node[k])
    elif isinstance(node, list):
        for x in node:
            _shrink_sizes(x)


def _set_num_classes(node, n: int) -> None:
    if isinstance(node, dict):
        for k in list(node.keys()):
            if k == 'num_classes':
                node[k] = n
            else:
                _set_num_classes(node[k], n)
    elif isinstance(node, list):
        for x in node:
            _set_num_classes(x, n)


def _datasets(loader_cfg) -> list:
    """The leaf dataset configs of a dataloader (through Repeat / Concat)."""
    out, todo = [], [loader_cfg.dataset]
    while todo:
        d = todo.pop()
        if 'datasets' in d:
            todo += list(d.datasets)
        elif d.get('type') in ('RepeatDataset', 'ClassBalancedDataset'):
            d.times = 1
            todo.append(d.dataset)
        else:
            out.append(d)
    return out


def load_tiny(config: str,
              data_root: str,
              checkpoint: Optional[str],
              work_dir: str,
              train_iters: int = 2,
              num_layers: int = TINY_LAYERS,
              patch_size: int = 16,
              img_size: int = 64) -> Config:
    """The config, shrunk to a tiny ViT and the synthetic data at
    ``data_root``, training ``train_iters`` iterations (2 epochs-worth of
    nothing: 4 images, batch 2, 1 epoch for epoch-based configs)."""
    cfg = Config.fromfile(config)
    scope = cfg.default_scope
    bb = cfg.model.backbone
    bb.arch = tiny_vit_arch(TINY_EMBED, num_layers)
    bb.patch_size = patch_size
    bb.img_size = img_size
    n_taps = len(bb.out_indices)
    bb.out_indices = [
        min(num_layers - 1, round(i * (num_layers - 1) / (n_taps - 1)))
        for i in range(n_taps)
    ]
    bb.drop_path_rate = 0.0
    if checkpoint is not None:
        bb.init_cfg.checkpoint = checkpoint
    for key in ('neck', 'decode_head', 'auxiliary_head', 'rpn_head',
                'roi_head'):
        if key in cfg.model:
            _shrink_channels(cfg.model[key])
    for key in ('train_pipeline', 'test_pipeline', 'train_dataloader',
                'val_dataloader', 'test_dataloader'):
        if key in cfg:
            _shrink_sizes(cfg[key])
    if 'data_preprocessor' in cfg.model and \
            cfg.model.data_preprocessor.get('size'):
        _shrink_sizes(cfg.model.data_preprocessor)
    if cfg.model.get('test_cfg') and 'mode' in cfg.model.test_cfg:
        _shrink_sizes(cfg.model.test_cfg)
    # data
    root = data_root.rstrip('/') + '/'
    coco_like = scope == 'mmdet'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        lc = cfg[loader]
        lc.batch_size = 2 if loader == 'train_dataloader' else 1
        lc.num_workers = 0
        lc.persistent_workers = False
        for d in _datasets(lc):
            d.data_root = root
            if coco_like and d.type == 'CocoDataset':
                d.metainfo = dict(classes=COCO_CLASSES)
    if coco_like:
        is_city = 'cityscapes' in config
        n_cls = len(CITYSCAPES_CLASSES) if is_city else len(COCO_CLASSES)
        _set_num_classes(cfg.model.roi_head, n_cls)
        ann = ('annotations/instancesonly_filtered_gtFine_val.json'
               if is_city else 'annotations/instances_val2017.json')
        evals = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) \
            else [cfg.val_evaluator]
        for e in evals:
            e.ann_file = osp.join(root, ann)
        cfg.test_evaluator = cfg.val_evaluator
        # scores of a 2-iteration model sit below the default 0.05
        cfg.model.test_cfg.rcnn.score_thr = 0.0
        cfg.train_cfg = dict(
            type='EpochBasedTrainLoop', max_epochs=1, val_interval=100)
    else:
        cfg.train_cfg = dict(
            type='IterBasedTrainLoop', max_iters=train_iters, val_interval=100)
    cfg.work_dir = work_dir
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.name = f'visualizer_{uuid.uuid4().hex[:8]}'
    cfg.randomness = dict(seed=0)
    return cfg
