# Mugs ViT-B/16, 400 epochs, total batch 1008 (released: 78.0 kNN / 80.6
# linear / 84.3 fine-tune). Drop path 0.2 as the paper (released script:
# 0.1); last layer frozen 3 epochs; teacher temperature warm-up 50 ep.
_base_ = [
    '../_base_/models/mugs_vit-small-p16.py',
    '../_base_/datasets/mugs_imagenet_multicrop.py',
    '../_base_/schedules/mugs_adamw_cosine.py',
    '../_base_/mugs_default_runtime.py',
]

# 24 GPUs x 42 images = a total batch of 1008
train_dataloader = dict(batch_size=42)
embed_dims = 768
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(arch='base', drop_path_rate=0.2),
    neck=dict(
        embed_dims=embed_dims,
        num_heads=12,
        feedforward_channels=4 * embed_dims),
    instance_head=dict(in_channels=embed_dims),
    local_group_head=dict(in_channels=embed_dims),
    group_head=dict(in_channels=embed_dims, norm_last_layer=False))

max_epochs = 400
warmup_epochs = 10
lr = 0.0008 * 1008 / 256  # the released code's scaling rule
optim_wrapper = dict(max_norm=3.0, optimizer=dict(lr=lr, weight_decay=0.04))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / lr,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=2e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingParamScheduler',
        param_name='weight_decay',
        eta_min_ratio=0.1 / 0.04,  # weight decay 0.04 -> 0.1
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
custom_hooks = [
    dict(type='MugsTeacherTempHook', warmup_temp=0.04, temp=0.07,
         warmup_epochs=50),
    dict(type='MugsFreezeLastLayerHook', freeze_epochs=3),
    # stop at a NaN/inf loss before the step; count skipped images;
    # RNG states in checkpoints for an exact --resume
    dict(type='NonFiniteLossHook'),
    dict(type='BadImageReportHook'),
    dict(type='RNGStateHook'),
]
# --auto-scale-lr: another total batch rescales lr linearly
auto_scale_lr = dict(base_batch_size=1008)
