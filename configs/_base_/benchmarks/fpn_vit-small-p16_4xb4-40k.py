# MGC transfer, shared by the Semantic FPN configs (ADE20K, VOC 2012):
# ViT-S/16 backbone (taps of blocks 2, 5, 8, 11, the pretrained final norm
# on every tap) -> strides 4-32 -> FPN (256) -> FPNHead (128 channels);
# AdamW lr 2e-4, wd 0.01, no decay on pos_embed / cls_token / norms;
# 1500-iteration linear warm-up then poly decay (power 1.0); drop path 0.0;
# 40k iterations. A child adds its data set base (512 x 512 crops), sets
# num_classes (model.decode_head.num_classes) and 4 images per GPU.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py'
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

pretrained = 'checkpoints/mgc_vit-small-p16_coco_backbone.pth'
embed_dims = 384
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=(512, 512)),  # the data sets' crop_size
    pretrained=None,
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
        out_indices=(2, 5, 8, 11),
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
            num_outs=4)
    ],
    decode_head=dict(channels=128))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=2e-4, betas=(0.9, 0.999),
        weight_decay=0.01),  # the authors' code
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=40000)
]
