# Linear probe of a frozen ViT-S/16 (DINO/iBOT protocol): the class tokens
# of the last 4 blocks, each through the pretrained final LayerNorm,
# concatenated (1536-d); SGD lr 0.04 at batch 1024 (8 GPUs x 128), cosine,
# 100 epochs, RandAugment + random erasing (the Mugs authors' ViT-S
# recipe). Used by the MGC and Mugs linear-probe configs
# (configs/{mgc,mugs}/benchmarks/classification); MGC takes mean patch
# tokens instead of class tokens.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_bicubic.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

vit_small = dict(
    embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='StrictPretrainedViT',
        arch=vit_small,
        img_size=224,
        patch_size=16,
        out_indices=[-4, -3, -2, -1],
        out_type='cls_token',
        final_norm=True,
        norm_all_taps=True,
        frozen_stages=12,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='MultiLayerConcatNeck', num_layers=4),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=4 * 384,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=dict(type='Normal', std=0.01, layer='Linear')))

# BGR order (images are loaded by OpenCV): mean / std of ImageNet
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean,
        fill_std=bgr_std),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# lr: the authors' 0.01 per 256 images (ViT-S 800 ep) x 1024 / 256
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=100,
        by_epoch=True,
        begin=0,
        end=100,
        eta_min=0.)
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=2,
        save_best='accuracy/top1',
        rule='greater'))
