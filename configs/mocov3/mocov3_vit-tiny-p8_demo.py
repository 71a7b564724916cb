# MoCo v3 (mmpretrain's implementation) on the embedded default data: the
# baseline of the demo and of the CPU benchmarks. A tiny ViT (2 layers, 64
# wide, patch 8) on 64 px Fashion-MNIST scenes; ~3 min on 2 CPU cores.
_base_ = ['../_base_/demo_vit-tiny-p8_fashion-mnist-scenes.py']

img_size = _base_.img_size
embed_dims = _base_.embed_dims
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.2,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(
    type='MoCoV3',
    base_momentum=0.01,  # mmengine convention: 1 - decay (decay 0.99)
    neck=dict(
        type='NonLinearNeck',
        in_channels=embed_dims,
        hid_channels=256,
        out_channels=64,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=False),
    head=dict(
        type='MoCoV3Head',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=64,
            hid_channels=256,
            out_channels=64,
            num_layers=2,
            with_bias=False,
            with_last_bn=True,
            with_last_bn_affine=False,
            with_last_bias=False,
            with_avg_pool=False),
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * 0.2),
        temperature=0.2))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'ln': dict(decay_mult=0.0),
        'bias': dict(decay_mult=0.0)
    }))

custom_hooks = [dict(type='NonFiniteLossHook')]
