# MGC transfer, shared by the Mask R-CNN configs (COCO, Cityscapes):
# Mask R-CNN + FPN with a ViT-S/16 backbone as the authors' code runs it:
# taps of blocks 3, 5, 7, 11 with the pretrained final norm on every tap,
# deconv-norm-GELU-deconv / deconv / identity / max-pool to strides 4-32,
# FPN; AdamW lr 7.5e-5, wd 0.03, no decay on pos_embed / cls_token /
# norms; 1000-iteration warm-up; lr x0.1 after epochs 8 and 11 of 12;
# drop path 0.0. A child adds its data set base, its batch (2 per GPU) and
# its number of classes.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

pretrained = 'checkpoints/mgc_vit-small-p16_coco_backbone.pth'
embed_dims = 384
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.StrictPretrainedViT',
        arch=dict(
            embed_dims=embed_dims,
            num_layers=12,
            num_heads=6,
            feedforward_channels=4 * embed_dims),
        img_size=224,  # pos_embed is resized bicubically to each input
        patch_size=16,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=True,
        norm_all_taps=True,
        drop_path_rate=0.0,  # the authors' code
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=[
        dict(
            type='mmpretrain.ViTPyramidNeck',
            in_channels=embed_dims,
            scale_factors=(4, 2, 1, 0.5),
            norm_cfg=norm_cfg),
        dict(
            type='FPN',
            in_channels=[embed_dims] * 4,
            out_channels=256,
            num_outs=5)
    ])

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=7.5e-5, betas=(0.9, 0.999), weight_decay=0.03),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
# 8 GPUs x 2 images
auto_scale_lr = dict(enable=False, base_batch_size=16)
