"""A tiny MGC model (2-layer, 32-wide MoCo v3 ViT, patch 4, 32 px) and a
batch of two views with their boxes and flips."""
import numpy as np
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def tiny_mgc(img=32,
             patch=4,
             granularities=(1, 2, 4),
             num_samples=(4, 3, 2),
             shared=True,
             key_cells='overlap',
             loss_mode='soft',
             ema_decay=0.9,
             init_cfg=None):
    cfg = dict(
        type='MGC',
        init_cfg=init_cfg,
        granularities=granularities,
        num_samples=num_samples,
        key_cells=key_cells,
        ema_decay=ema_decay,
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor', mean=[0.] * 3, std=[1.] * 3),
        backbone=dict(
            type='MoCoV3ViT',
            arch=dict(
                embed_dims=32,
                num_layers=2,
                num_heads=2,
                feedforward_channels=64),
            img_size=img,
            patch_size=patch,
            out_type='featmap'),
        neck=dict(
            type='MGCProjectionNeck',
            in_channels=32,
            hid_channels=48,
            out_channels=16,
            shared=shared),
        head=dict(
            type='MGCHead',
            in_channels=16,
            hid_channels=48,
            out_channels=16,
            shared=shared,
            temperature=0.2,
            loss=dict(type='MGCSoftTargetLoss', mode=loss_mode)))
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_batch(b=6, img=32, seed=0):
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(b, 3, img, img, generator=g) for _ in range(2)]
    samples = []
    for _ in range(b):
        x, y = rng.integers(0, 30, 2)
        w1, h1 = rng.integers(40, 80, 2)
        boxes = np.array([[
            x, y, w1, h1
        ], [x + rng.integers(-10, 10), y + rng.integers(-10, 10), w1, h1]],
                         np.float32)
        ds = DataSample()
        ds.set_field(boxes, 'view_boxes')
        ds.set_field(rng.random(2) < 0.5, 'view_flips')
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)
