# MGC, ViT-S/16, pretrained on PASCAL VOC07+12 trainval (16,551 images; the
# labels are not used) for 800 epochs at batch 256 (Table 3, "VOC" rows);
# otherwise the COCO config.
_base_ = ['./mgc_vit-small-p16_8xb32-coslr-800e_coco.py']
pipeline = {{_base_.train_pipeline}}
train_dataloader = dict(
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
