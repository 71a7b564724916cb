# MGC two-view pretraining pipeline at 224 px (paper Table 8): per view
# RandomResizedCrop area (0.08, 1), ratio (3/4, 4/3), flip 0.5, colour
# jitter 0.8 (0.4, 0.4, 0.2, 0.1), grayscale 0.2, Gaussian blur sigma
# (0.1, 2.0) with p = 1.0 / 0.1, solarize p = 0.0 / 0.2. The crop boxes and
# flips travel to the model as `view_boxes` / `view_flips`. The dataset
# (here a folder of COCO train2017 images) is replaced by each config.
color_aug = [
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
]
view1_pipeline = color_aug + [
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=1.0),
]
view2_pipeline = color_aug + [
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='RobustLoadImage'),
    dict(
        type='MGCTwoViewCrop',
        size=224,
        scale=(0.08, 1.0),
        ratio=(3. / 4., 4. / 3.),
        flip_prob=0.5,
        min_overlap=0.0,  # the paper does not re-sample; public code: 0.2
        interpolation='bicubic',
        backend='pillow',
        view_pipelines=[view1_pipeline, view2_pipeline]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips'])
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='UnlabeledImageFolder',
        data_root='data/coco/train2017',
        pipeline=train_pipeline))
