# Textured scenes (TexturedFashionMNISTScenes: every item its own colour and
# texture, photo-texture backgrounds; no colour shortcut, measured in
# docs/benchmarks.md, "Textured scenes") with the paper's augmentation: the
# MoCo v3 mini config, same budget, and MoCo v3's (BYOL's) asymmetric views:
# ImageNet colour jitter (p 0.8), grayscale 0.2, blur 1.0 / 0.1 with the
# 224 px sigma (0.1, 2.0) scaled to 64 px, solarisation 0 / 0.2.
_base_ = ['../mocov3_vit-tiny-p8_mini.py']

jitter = dict(
    type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))
view_common = [
    dict(
        type='RandomResizedCrop',
        scale=64,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(type='RandomApply', transforms=[jitter], prob=0.8),
    grayscale,
]
view1_pipeline = view_common + [
    dict(
        type='GaussianBlur',
        magnitude_std='inf',
        magnitude_range=(0.03, 0.57),
        prob=1.0),
    dict(type='RandomFlip', prob=0.5),
]
view2_pipeline = view_common + [
    dict(
        type='GaussianBlur',
        magnitude_std='inf',
        magnitude_range=(0.03, 0.57),
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    dataset=dict(
        type='TexturedFashionMNISTScenes',
        pipeline=[
            dict(
                type='MultiView',
                num_views=[1, 1],
                transforms=[view1_pipeline, view2_pipeline]),
            dict(type='PackInputs')
        ]))
