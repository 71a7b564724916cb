# Mugs transfer: UPerNet (+ FCN auxiliary head) with a ViT-S/16 backbone,
# ADE20K (150 classes), 512 x 512 crops, 160k iterations, batch 16 (8 GPUs
# x 2; the authors' script runs 4 GPUs x 4), as the authors' code (the iBOT
# protocol) runs it: taps of blocks 3, 5, 7, 11, each through the
# pretrained final norm -> strides 4-32 -> UPerHead with 384 channels;
# AdamW lr 3e-5 (the best of the paper's sweep), wd 0.05 (none on 1-D
# parameters, pos_embed, cls_token), layer-wise lr
# decay 0.9, 1500-iteration warm-up then poly decay; drop path 0.1; no
# multi-scale training or test; sliding-window test (512, stride 341).
# Mixed precision is off unless --amp is given (the authors train in fp16).
# Fidelity table (paper | authors' code | ours): README.md in this folder.
# Set the backbone file with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (loaded STRICTLY: any key mismatch stops the run).
_base_ = [
    'mmseg::_base_/models/upernet_r50.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py'
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

pretrained = 'checkpoints/mugs_vit-small-p16_in1k-800e_backbone.pth'
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
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=True,
        norm_all_taps=True,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(
        type='mmpretrain.ViTPyramidNeck',
        in_channels=embed_dims,
        scale_factors=(4, 2, 1, 0.5),
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[embed_dims] * 4, channels=384, num_classes=num_classes),
    auxiliary_head=dict(
        in_channels=embed_dims, in_index=2, num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

train_dataloader = dict(batch_size=2, num_workers=2)

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmpretrain.ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.9,
        flat_decay_mult=0.,
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
        end=160000)
]
