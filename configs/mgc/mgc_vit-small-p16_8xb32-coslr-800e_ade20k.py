# MGC, ViT-S/16, pretrained on the ADE20K training images (20k, no labels)
# for 800 epochs at batch 256 (Table 4, "ADE20K" rows).
_base_ = [
    '../_base_/models/mgc_vit-small-p16.py',
    '../_base_/datasets/mgc_pretrain_224.py',
    '../_base_/schedules/mgc_adamw-coslr-800e.py',
    '../_base_/mgc_default_runtime.py',
]
train_dataloader = dict(
    batch_size=32,
    dataset=dict(data_root='data/ade/ADEChallengeData2016/images/training'))
