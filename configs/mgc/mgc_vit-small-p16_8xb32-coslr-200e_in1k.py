# MGC, ViT-S/16, pretrained on ImageNet-1K train (labels unused) for 200
# epochs at batch 256 with 30 warm-up epochs and drop path 0.05 (appendix
# 10-11, Table 9).
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/mgc_pretrain_224.py',
    '../_base_/schedules/mgc_adamw-coslr-800e.py',
    '../_base_/mgc_default_runtime.py',
]
model = dict(backbone=dict(drop_path_rate=0.05))
pipeline = {{_base_.train_pipeline}}
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        _delete_=True,
        type='UnlabeledImageFolder',  # labels unused; bad files skipped
        data_root='data/imagenet/train',
        pipeline=pipeline))

max_epochs = 200
warmup_epochs = 30
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
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
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
