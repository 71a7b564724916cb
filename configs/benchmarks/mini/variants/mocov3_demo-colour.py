# Colour-shortcut check (docs/benchmarks.md): the MoCo v3 mini config with
# the demo's (ImageNet) colour augmentation instead of the shared strong one.
_base_ = ['../mocov3_vit-tiny-p8_mini.py']

jitter = dict(
    type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))

view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=64,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(type='RandomApply', transforms=[jitter], prob=0.8),
    grayscale,
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
        dict(type='PackInputs')
    ]))
