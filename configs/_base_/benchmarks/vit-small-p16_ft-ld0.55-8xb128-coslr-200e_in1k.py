# Full fine-tuning of a pretrained ViT-S/16 with layer-wise lr decay, the
# Mugs / iBOT recipe: AdamW lr 1.2e-3 at batch 1024 (8 GPUs x 128), layer
# decay 0.55, drop path 0.1, 200 epochs, 20 warm-up epochs; the rest from
# mmpretrain's MAE fine-tuning config. Used by the MGC and Mugs
# fine-tuning configs (configs/{mgc,mugs}/benchmarks/classification).
_base_ = ['mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py']
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        type='StrictPretrainedViT',
        arch='deit-small',  # ViT-S/16: 384 wide, 12 blocks, 6 heads, MLP 1536
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    head=dict(in_channels=384))

optim_wrapper = dict(
    optimizer=dict(lr=1.2e-3, weight_decay=0.05),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.55))

max_epochs = 200
warmup_epochs = 20
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
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        eta_min=1e-6,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=2,
        save_best='accuracy/top1',
        rule='greater'))
