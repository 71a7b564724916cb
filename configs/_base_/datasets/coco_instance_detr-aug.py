# COCO instance segmentation (mmdet's coco_instance.py) with the
# multi-scale training augmentation of DETR / Sparse R-CNN: a flip, then
# either a random short side in 480-800 (step 32, long side <= 1333) or a
# short side of 400 / 500 / 600, a random 384-600 crop and the first
# resize again. Validation and test as mmdet's (1333 x 800).
_base_ = ['mmdet::_base_/datasets/coco_instance.py']
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(
                type='RandomChoiceResize',
                scales=[(s, 1333) for s in range(480, 801, 32)],
                keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=[(s, 1333) for s in range(480, 801, 32)],
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
