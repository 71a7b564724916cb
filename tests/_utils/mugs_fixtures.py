"""Tiny Mugs models and batches shared by the Mugs tests (models, engine,
distributed)."""
from typing import List, Optional

import torch
from mmpretrain.registry import MODELS


def tiny_mugs_cfg(embed_dims: int = 32,
                  img_size: int = 32,
                  queue_length: int = 50,
                  buffer_length: int = 50,
                  num_prototypes: int = 40,
                  depth: int = 2,
                  separate_student_buffer: bool = True,
                  head_norm: Optional[str] = None,
                  teacher_batch_stats: bool = False) -> dict:
    """A Mugs config with a 2-layer ViT (patch 8) and small heads;
    ``head_norm='BN'`` gives the IDS / LGDS heads BatchNorm (hidden layers
    and a non-affine BN after the last layers, as the demo)."""
    head = dict(
        norm_cfg=dict(type='GlobalBN1d') if head_norm else None,
        last_norm_cfg=(dict(type='GlobalBN1d', affine=False)
                       if head_norm else None),
        type='MugsInfoNCEHead',
        in_channels=embed_dims,
        hid_channels=48,
        out_channels=16,
        pred_hid_channels=48,
        temperature=0.2,
        queue_length=queue_length)
    return dict(
        type='Mugs',
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            to_rgb=True),
        backbone=dict(
            type='VisionTransformer',
            arch=dict(
                embed_dims=embed_dims,
                num_layers=2,
                num_heads=2,
                feedforward_channels=2 * embed_dims),
            img_size=img_size,
            patch_size=8,
            drop_path_rate=0.1,
            out_type='raw'),
        neck=dict(
            type='MugsAggregator',
            embed_dims=embed_dims,
            num_heads=2,
            feedforward_channels=2 * embed_dims,
            num_layers=depth),
        instance_head=head,
        local_group_head=dict(head),
        group_head=dict(
            type='MugsGroupHead',
            in_channels=embed_dims,
            hid_channels=48,
            bottleneck_channels=16,
            num_prototypes=num_prototypes),
        num_global_crops=2,
        num_neighbours=3,
        neighbour_buffer_length=buffer_length,
        separate_student_buffer=separate_student_buffer,
        teacher_batch_stats=teacher_batch_stats)


def build_tiny_mugs(**kwargs) -> torch.nn.Module:
    model = MODELS.build(tiny_mugs_cfg(**kwargs))
    model.init_weights()
    return model


def random_crops(batch: int = 4,
                 num_local: int = 2,
                 global_size: int = 32,
                 local_size: int = 16,
                 generator: Optional[torch.Generator] = None
                 ) -> List[torch.Tensor]:
    """Normalised crops: 2 teacher globals, 2 student globals, locals."""
    sizes = [global_size] * 4 + [local_size] * num_local
    return [torch.randn(batch, 3, s, s, generator=generator) for s in sizes]


def silence_init_logs() -> None:
    """mmengine logs every parameter at init_weights; keep tests quiet."""
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)
