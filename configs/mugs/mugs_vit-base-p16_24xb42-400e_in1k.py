# Mugs ViT-B/16, 400 epochs, total batch 1008 (released: 78.0 kNN / 80.6
# linear / 84.3 fine-tune). Drop path 0.2 as the paper (released script:
# 0.1); last layer frozen 3 epochs; teacher temperature warm-up 50 ep;
# min lr 2e-6. Otherwise the ViT-S 800-epoch config.
_base_ = ['./mugs_vit-small-p16_16xb64-800e_in1k.py']

# 24 GPUs x 42 images = a total batch of 1008
train_dataloader = dict(batch_size=42)
embed_dims = 768
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.2),
    neck=dict(
        embed_dims=embed_dims,
        num_heads=12,
        feedforward_channels=4 * embed_dims),
    instance_head=dict(in_channels=embed_dims),
    local_group_head=dict(in_channels=embed_dims),
    group_head=dict(in_channels=embed_dims))

lr = 0.0008 * 1008 / 256  # the released code's scaling rule
optim_wrapper = dict(optimizer=dict(lr=lr))
auto_scale_lr = dict(base_batch_size=1008)

max_epochs = 400
# the base's lr warm-up, lr cosine and weight-decay cosine over max_epochs
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - _base_.warmup_epochs,
        eta_min=2e-6,
        end=max_epochs),
    dict(_base_.param_scheduler[2], end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(_base_.custom_hooks[0], warmup_epochs=50),
    dict(_base_.custom_hooks[1], freeze_epochs=3),
    *_base_.custom_hooks[2:],
]
