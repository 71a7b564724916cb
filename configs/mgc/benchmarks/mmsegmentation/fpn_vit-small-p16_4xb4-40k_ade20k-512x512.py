# MGC transfer: Semantic FPN with a ViT-S/16 backbone, ADE20K (150
# classes), 512 x 512 crops, 40k iterations, batch 16 (4 GPUs x 4; the
# authors' config has 4 images per GPU and no GPU count).
# Settings as the authors' code runs them: taps of blocks 2, 5, 8, 11 with
# the pretrained final norm on every tap -> strides 4-32 -> FPN (256) ->
# FPNHead (128 channels); AdamW lr 2e-4, wd 0.01 (the paper's appendix says
# 0.05), no decay on pos_embed / cls_token / norms; 1500-iteration linear
# warm-up then poly decay (power 1.0); drop path 0.0.
# Fidelity table (paper | authors' code | ours): README.md in this folder.
# Set the backbone file with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (loaded STRICTLY: any key mismatch stops the run).
_base_ = [
    'mmseg::_base_/models/fpn_r50.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py'
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

pretrained = 'checkpoints/mgc_vit-small-p16_coco_backbone.pth'
embed_dims = 384
crop_size = (512, 512)
num_classes = 150
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
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
    decode_head=dict(channels=128, num_classes=num_classes))

train_dataloader = dict(batch_size=4, num_workers=4)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01),  # the authors' code
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=40000)
]
