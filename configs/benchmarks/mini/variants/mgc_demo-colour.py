# Colour-shortcut check (docs/benchmarks.md): the MGC mini config with the
# demo's (ImageNet) colour augmentation instead of the shared strong one.
_base_ = ['../mgc_vit-tiny-p8_mini.py']

jitter = dict(
    type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))

color_aug = [
    dict(type='RandomApply', transforms=[jitter], prob=0.8),
    grayscale,
]
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='MGCTwoViewCrop',
            size=64,
            scale=(0.2, 1.0),
            ratio=(3. / 4., 4. / 3.),
            flip_prob=0.5,
            min_overlap=0.2,
            view_pipelines=[
                color_aug + [
                    dict(
                        type='GaussianBlur',
                        magnitude_range=(0.03, 0.57),
                        magnitude_std='inf',
                        prob=1.0)
                ], color_aug + [
                    dict(
                        type='GaussianBlur',
                        magnitude_range=(0.03, 0.57),
                        magnitude_std='inf',
                        prob=0.1),
                    dict(type='Solarize', thr=128, prob=0.2)
                ]
            ]),
        dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips'])
    ]))
