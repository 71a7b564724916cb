# MGC transfer: Mask R-CNN + FPN with a ViT-S/16 backbone, Cityscapes 1x
# (8 instance classes), as the authors' code runs it: training images
# rescaled (keep ratio) to a random size between 2048 x 800 and 2048 x 1024,
# then a 769 x 769 crop and a flip; training set repeated x8, 12 epochs,
# lr x0.1 after epochs 8 and 11, 1000-iteration warm-up; AdamW lr 1e-4,
# wd 0.05 (the paper's appendix repeats the COCO line "7.5e-3, wd 0.03");
# drop path 0.0. Batch 16 (8 GPUs x 2) is ours: the authors' config has 1
# image per GPU and no GPU count. Same ViT-S/16 + pyramid neck as the COCO
# config. Evaluation: COCO-style bbox / segm AP on
# instancesonly_filtered_gtFine_val.json (mmdet's CityScapesMetric needs
# the optional cityscapesscripts package).
# Fidelity table (paper | authors' code | ours): README.md in this folder.
# Set the backbone file with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/cityscapes_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

pretrained = 'checkpoints/mgc_vit-small-p16_coco_backbone.pth'
embed_dims = 384
norm_cfg = dict(type='SyncBN', requires_grad=True)
crop_size = (769, 769)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.StrictPretrainedViT',
        arch=dict(
            embed_dims=embed_dims,
            num_layers=12,
            num_heads=6,
            feedforward_channels=4 * embed_dims),
        img_size=224,
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
    ],
    roi_head=dict(
        bbox_head=dict(num_classes=8), mask_head=dict(num_classes=8)))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    # the authors' Resize(img_scale=[(2048, 800), (2048, 1024)]): a random
    # scale in that range, aspect ratio kept
    dict(
        type='RandomResize',
        scale=[(2048, 800), (2048, 1024)],
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=crop_size,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    dataset=dict(dataset=dict(pipeline=train_pipeline)))

val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file='data/cityscapes/annotations/'
    'instancesonly_filtered_gtFine_val.json',
    metric=['bbox', 'segm'],
    backend_args={{_base_.backend_args}})
test_evaluator = val_evaluator

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
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
