# Mugs ViT-S/16, 800 epochs, total batch 1024 (released: 75.6 kNN / 78.9
# linear / 82.6 fine-tune). Teacher temperature 0.04 -> 0.07 over 30 ep.
# The other Mugs ImageNet configs inherit this one.
_base_ = [
    '../_base_/models/mugs_vit-small-p16.py',
    '../_base_/datasets/mugs_imagenet_multicrop.py',
    '../_base_/schedules/mugs_adamw-coslr-800e.py',
    '../_base_/pretrain_runtime.py',
]

# 16 GPUs x 64 images (the data set base's batch) = a total batch of 1024
model = dict(data_preprocessor={{_base_.data_preprocessor}})
# --auto-scale-lr: another total batch rescales lr linearly
auto_scale_lr = dict(base_batch_size=1024)

# [0] teacher temperature, [1] last layer frozen, then the runtime's
# hooks (stop at a NaN/inf loss before the step; count skipped images; RNG
# states in checkpoints for an exact --resume)
custom_hooks = [
    dict(
        type='MugsTeacherTempHook',
        warmup_temp=0.04,
        temp=0.07,
        warmup_epochs=30),
    dict(type='MugsFreezeLastLayerHook', freeze_epochs=1),
] + _base_.custom_hooks
