# MGC, ViT-S/16, pretrained on ImageNet-1K train (labels unused) for 200
# epochs at batch 256 with 30 warm-up epochs and drop path 0.05 (appendix
# 10-11, Table 9); otherwise the COCO config.
_base_ = ['./mgc_vit-small-p16_8xb32-coslr-800e_coco.py']
model = dict(backbone=dict(drop_path_rate=0.05))
pipeline = {{_base_.train_pipeline}}
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledImageFolder',  # labels unused; bad files skipped
        data_root='data/imagenet/train',
        pipeline=pipeline))

# the base's linear warm-up and cosine decay, over 30 + 170 epochs
max_epochs = 200
warmup_epochs = 30
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - warmup_epochs,
        begin=warmup_epochs,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
