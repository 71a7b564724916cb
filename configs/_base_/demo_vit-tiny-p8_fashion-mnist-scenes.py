# The CPU demo setting shared by the MGC demo and its MoCo v3 baseline
# (configs/mgc/mgc_demo.py, configs/mocov3/mocov3_vit-tiny-p8_demo.py), so
# that the two compare at one budget: a tiny ViT (MoCoV3ViT, 2 layers, 64
# wide, 4 heads, patch 8, frozen random patch embedding) on 2048 unlabeled
# 64 px Fashion-MNIST scenes (seed 0), batch 64, data loaded in the main
# process; AdamW (betas 0.9, 0.95, weight decay 0.05, none on pos_embed and
# cls_token), 1 warm-up epoch then cosine to 1e-6 over 10 epochs; log every
# 10 iterations, checkpoint every 5 epochs. A child sets the method: model
# type, neck, head, lr, train pipeline (train_dataloader.dataset.pipeline)
# and hooks.
_base_ = ['./default_runtime.py']

img_size = 64
embed_dims = 64
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTScenes', num_samples=2048, img_size=img_size,
        seed=0))

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MoCoV3ViT',
        arch=dict(
            embed_dims=embed_dims,
            num_layers=2,
            num_heads=4,
            feedforward_channels=4 * embed_dims),
        img_size=img_size,
        patch_size=8,
        stop_grad_conv1=True))

max_epochs = 10
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'pos_embed': dict(decay_mult=0.),
        'cls_token': dict(decay_mult=0.)
    }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-6,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=2))
# MoCoV3ViT freezes pos_embed in init_weights(), after the Runner has wrapped
# the model in DDP (as mmpretrain's MoCo v3 configs do).
find_unused_parameters = True
