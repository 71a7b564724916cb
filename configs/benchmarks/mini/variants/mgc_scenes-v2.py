# Textured scenes (TexturedFashionMNISTScenes: every item its own colour and
# texture, photo-texture backgrounds; no colour shortcut, measured in
# docs/benchmarks.md, "Textured scenes") with the paper's augmentation: the
# MGC mini config, same budget, with Table 8's views (ImageNet colour jitter
# p 0.8, grayscale 0.2, blur 1.0 / 0.1 with sigma scaled to 64 px,
# solarisation 0 / 0.2), i.e. the views of configs/mgc/mgc_demo.py.
_base_ = ['../mgc_vit-tiny-p8_mini.py']

jitter = dict(
    type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.2,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))
color_aug = [
    dict(type='RandomApply', transforms=[jitter], prob=0.8), grayscale
]
train_dataloader = dict(
    dataset=dict(
        type='TexturedFashionMNISTScenes',
        pipeline=[
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
                            magnitude_std='inf',
                            magnitude_range=(0.03, 0.57),
                            prob=1.0)
                    ], color_aug + [
                        dict(
                            type='GaussianBlur',
                            magnitude_std='inf',
                            magnitude_range=(0.03, 0.57),
                            prob=0.1),
                        dict(type='Solarize', thr=128, prob=0.2)
                    ]
                ]),
            dict(
                type='PackInputs', algorithm_keys=['view_boxes', 'view_flips'])
        ]))
