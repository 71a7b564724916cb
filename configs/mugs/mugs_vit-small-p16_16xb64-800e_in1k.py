# Mugs ViT-S/16, 800 epochs, total batch 1024 (released: 75.6 kNN / 78.9
# linear / 82.6 fine-tune). Teacher temperature 0.04 -> 0.07 over 30 ep.
_base_ = [
    '../_base_/models/mugs_vit-small-p16.py',
    '../_base_/datasets/mugs_imagenet_multicrop.py',
    '../_base_/schedules/mugs_adamw_cosine.py',
    '../_base_/mugs_default_runtime.py',
]

# 16 GPUs x 64 images = a total batch of 1024
train_dataloader = dict(batch_size=64)
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(drop_path_rate=0.1),
    group_head=dict(norm_last_layer=False))

max_epochs = 800
warmup_epochs = 10
lr = 0.0008 * 1024 / 256  # the released code's scaling rule
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
        eta_min=1e-6,
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
         warmup_epochs=30),
    dict(type='MugsFreezeLastLayerHook', freeze_epochs=1),
    # stop at a NaN/inf loss before the step; count skipped images;
    # RNG states in checkpoints for an exact --resume
    dict(type='NonFiniteLossHook'),
    dict(type='BadImageReportHook'),
    dict(type='RNGStateHook'),
]
# --auto-scale-lr: another total batch rescales lr linearly
auto_scale_lr = dict(base_batch_size=1024)
