# MGC, ViT-S/16, pretrained on PASCAL VOC07+12 trainval (16,551 images; the
# labels are not used) for 800 epochs at batch 256 (Table 3, "VOC" rows).
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/mgc_pretrain_224.py',
    '../_base_/schedules/mgc_adamw-coslr-800e.py',
    '../_base_/mgc_default_runtime.py',
]
pipeline = {{_base_.train_pipeline}}
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='VOC',
                data_root='data/VOCdevkit/VOC2007',
                split='trainval',
                pipeline=pipeline),
            dict(
                type='VOC',
                data_root='data/VOCdevkit/VOC2012',
                split='trainval',
                pipeline=pipeline),
        ]))
