# Mugs ViT-S/16, 300 epochs, total batch 1024 (released: 74.8 kNN / 78.2
# linear). Teacher temperature 0.04 -> 0.07 over 30 epochs. The 800-epoch
# config over 300 epochs.
_base_ = ['./mugs_vit-small-p16_16xb64-800e_in1k.py']

max_epochs = 300
# the base's lr warm-up, lr cosine and weight-decay cosine over max_epochs
param_scheduler = [
    _base_.param_scheduler[0],
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - _base_.warmup_epochs,
        end=max_epochs),
    dict(_base_.param_scheduler[2], end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
