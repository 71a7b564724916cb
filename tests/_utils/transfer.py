"""Helpers for the classification, pose and DAVIS transfer tests: a tiny
pretrained ViT checkpoint, pipeline shrinking and a hook that snapshots
the backbone."""
import copy

import torch
from mmengine.hooks import Hook

from tests._utils.tiny_vit import tiny_vit_arch


def write_vit_checkpoint(path, img_size, patch_size=8, num_layers=2, seed=123):
    """Save a random tiny ``mmpretrain.VisionTransformer`` under
    ``backbone.*`` keys (the format of extract_backbone.py) and return its
    state dict (unprefixed). Random but non-default values everywhere (the
    norms too), so a missed key cannot pass as 'loaded'."""
    from mmpretrain.models.backbones import VisionTransformer
    torch.manual_seed(seed)
    vit = VisionTransformer(
        arch=tiny_vit_arch(num_layers=num_layers),
        img_size=img_size,
        patch_size=patch_size)
    sd = {}
    for k, v in vit.state_dict().items():
        sd[k] = torch.randn_like(v) * 0.05 + (1. if 'ln' in k
                                              and k.endswith('weight') else 0.)
    torch.save(
        {
            'state_dict': {
                'backbone.' + k: v
                for k, v in sd.items()
            },
            'meta': {
                'note': 'test checkpoint'
            }
        }, str(path))
    return sd


def set_tiny_backbone(backbone_cfg,
                      checkpoint,
                      img_size,
                      patch_size=8,
                      num_layers=2):
    backbone_cfg.arch = tiny_vit_arch(num_layers=num_layers)
    backbone_cfg.img_size = img_size
    backbone_cfg.patch_size = patch_size
    backbone_cfg.init_cfg = dict(
        type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')


_SIZE_KEYS = {
    'RandomResizedCrop': 'scale',
    'CenterCrop': 'crop_size',
    'ResizeEdge': 'scale',
}


def shrink_pipeline(pipeline, size):
    """Replace 224 / 256 px sizes of a classification pipeline."""
    out = copy.deepcopy(pipeline)
    for t in out:
        key = _SIZE_KEYS.get(t['type'])
        if key is not None:
            t[key] = size if t['type'] != 'ResizeEdge' else size + size // 8
    return out


class SnapshotBackbone(Hook):
    """Copy the backbone state right before the first training iteration
    (after the Runner's weight initialisation and checkpoint loading)."""

    def __init__(self, attr='backbone'):
        self.attr = attr
        self.state = None

    def before_train(self, runner):
        model = runner.model
        model = getattr(model, 'module', model)
        self.state = {
            k: v.detach().clone()
            for k, v in getattr(model, self.attr).state_dict().items()
        }


def assert_state_from_checkpoint(state, ckpt_sd, resized=('pos_embed', )):
    """Every backbone tensor equals the checkpoint's (pos_embed may have
    been resized: then only its shape differs)."""
    assert set(state) == set(ckpt_sd), set(state) ^ set(ckpt_sd)
    for k, v in state.items():
        if k in resized and v.shape != ckpt_sd[k].shape:
            continue
        assert torch.equal(v, ckpt_sd[k]), f'{k} not from the checkpoint'
