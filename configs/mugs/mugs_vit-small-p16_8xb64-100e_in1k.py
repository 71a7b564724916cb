# Mugs ViT-S/16, 100 epochs, total batch 512 (released: 72.3 kNN / 76.4
# linear). Teacher temperature constant 0.04; weight decay 0.04 -> 0.2.
# Otherwise the 800-epoch config.
_base_ = ['./mugs_vit-small-p16_16xb64-800e_in1k.py']

# 8 GPUs x 64 images = a total batch of 512
lr = 0.0008 * 512 / 256  # the released code's scaling rule
optim_wrapper = dict(optimizer=dict(lr=lr))
auto_scale_lr = dict(base_batch_size=512)

max_epochs = 100
# the base's lr warm-up, lr cosine and weight-decay cosine over max_epochs
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-6 / lr),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - _base_.warmup_epochs,
        end=max_epochs),
    dict(
        _base_.param_scheduler[2],
        eta_min_ratio=0.2 / 0.04,  # weight decay 0.04 -> 0.2
        end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(_base_.custom_hooks[0], temp=0.04, warmup_epochs=0),
    *_base_.custom_hooks[1:],
]
