# ImageNet-1K with Mugs' multi-crop: 2 teacher global 224 crops (weak), 2
# student global 224 crops and 10 local 96 crops (strong with p 0.5).
# The training images are read as an unlabeled folder: a corrupt, CMYK,
# 16-bit or palette file is converted or skipped with a warning that names it
# (RobustLoadImage), never a crash mid-epoch.
dataset_type = 'UnlabeledImageFolder'
data_root = 'data/imagenet/train'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='RobustLoadImage', on_error='skip'),
    dict(
        type='MugsMultiCrop',
        num_global_crops=2,
        global_size=224,
        global_scale=(0.25, 1.0),
        num_local_crops=10,
        local_size=96,
        local_scale=(0.05, 0.25),
        strong_prob=0.5),
    dict(type='PackInputs', algorithm_keys=['mugs_weak'])
]
train_dataloader = dict(
    batch_size=64,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
