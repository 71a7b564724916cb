# MGC, ViT-S/16, pretrained on COCO train2017 (118k images, no labels) for
# 800 epochs at batch 256 (8 GPUs x 32): the setting of Tables 1-6.
#   bash tools/dist_train.sh configs/mgc/mgc_vit-small-p16_8xb32-coslr-800e_coco.py 8
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/mgc_pretrain_224.py',
    '../_base_/schedules/mgc_adamw-coslr-800e.py',
    '../_base_/pretrain_runtime.py',
]
train_dataloader = dict(
    batch_size=32, dataset=dict(data_root='data/coco/train2017'))
