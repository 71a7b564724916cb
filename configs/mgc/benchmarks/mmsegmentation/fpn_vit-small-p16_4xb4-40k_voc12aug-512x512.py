# MGC transfer: Semantic FPN with a ViT-S/16 backbone, PASCAL VOC 2012 with
# the SBD "aug" training set: VOC2012 train (1,464) + SBD (9,118) = 10,582
# images (mmseg's pascal_voc12_aug.py; the SegmentationClassAug maps come
# from mmseg's tools/dataset_converters/voc_aug.py). This is the usual
# reading of the paper's "VOC07+12"; the authors' code trains on the 1,464
# images of VOC2012 train only (the default config,
# fpn_vit-small-p16_4xb4-40k_voc12-512x512.py, which this one inherits:
# same model, optimiser and schedule). Expect higher mIoU than with the
# authors' training set: the two are not comparable.
_base_ = ['./fpn_vit-small-p16_4xb4-40k_voc12-512x512.py']

# mmseg's pascal_voc12_aug.py training set: train.txt with SegmentationClass
# + aug.txt with SegmentationClassAug
dataset_train = dict(
    type='PascalVOCDataset',
    data_root='data/VOCdevkit/VOC2012',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt',
    pipeline={{_base_.train_pipeline}})
dataset_aug = dict(
    type='PascalVOCDataset',
    data_root='data/VOCdevkit/VOC2012',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt',
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[dataset_train, dataset_aug]))
