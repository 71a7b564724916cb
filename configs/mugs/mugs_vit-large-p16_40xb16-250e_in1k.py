# Mugs ViT-L/16, 250 epochs, total batch 640 (released: 80.3 kNN / 82.1
# linear / 85.2 fine-tune). Paper: drop path 0.4, clip 0.3, weight decay end
# 0.08, norm_last_layer; lr as the released script (0.0015 x batch / 256;
# the paper prints 1.5e-4), weight decay start 0.025 and min lr 1.5e-4
# from the released script. Hooks (teacher temperature warm-up 50 ep, last
# layer frozen 3 epochs) as the ViT-B config, which this one inherits.
_base_ = ['./mugs_vit-base-p16_24xb42-400e_in1k.py']

# 40 GPUs x 16 images = a total batch of 640
train_dataloader = dict(batch_size=16)
embed_dims = 1024
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.4),
    neck=dict(
        embed_dims=embed_dims,
        num_heads=16,
        feedforward_channels=4 * embed_dims),
    instance_head=dict(in_channels=embed_dims),
    local_group_head=dict(in_channels=embed_dims),
    group_head=dict(in_channels=embed_dims, norm_last_layer=True))

lr = 0.0015 * 640 / 256  # the released code's scaling rule
optim_wrapper = dict(max_norm=0.3, optimizer=dict(lr=lr, weight_decay=0.025))
auto_scale_lr = dict(base_batch_size=640)

max_epochs = 250
# the base's lr warm-up, lr cosine and weight-decay cosine over max_epochs
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - _base_.warmup_epochs,
        eta_min=1.5e-4,
        end=max_epochs),
    dict(
        _base_.param_scheduler[2],
        eta_min_ratio=0.08 / 0.025,  # weight decay 0.025 -> 0.08
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
