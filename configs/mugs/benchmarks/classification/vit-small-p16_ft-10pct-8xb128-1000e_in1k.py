# Semi-supervised fine-tuning on 10 % of the ImageNet-1K labels (Mugs
# Table 4, appendix B.2.2): ViT-S/16, AdamW, batch 1024 (8 GPUs x 128),
# weight decay 0.05, lr 5e-6, 1000 epochs with 5 warm-up epochs. The paper
# states no layer-wise decay for this setting (decay rate 1.0 here); the
# rest of the recipe is the full fine-tuning config's. The subset list is
# SimCLR's 10percent.txt, turned into meta/train_10percent.txt (README.md).
_base_ = ['./vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py']

train_dataloader = dict(
    dataset=dict(split='train', ann_file='meta/train_10percent.txt'))

optim_wrapper = dict(
    optimizer=dict(lr=5e-6, weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=1.0))

max_epochs = 1000
warmup_epochs = 5
# the base's linear warm-up and cosine decay, over 5 + 995 epochs
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - warmup_epochs,
        begin=warmup_epochs,
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=50))
