# MGC, ViT-S/16, pretrained on the ADE20K training images (20k, no labels)
# for 800 epochs at batch 256 (Table 4, "ADE20K" rows); otherwise the COCO
# config.
_base_ = ['./mgc_vit-small-p16_8xb32-coslr-800e_coco.py']
train_dataloader = dict(
    dataset=dict(data_root='data/ade/ADEChallengeData2016/images/training'))
