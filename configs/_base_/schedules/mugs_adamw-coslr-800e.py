# Appendix B.1.3, for ViT-S/16 at a total batch of 1024 over 800 epochs:
# AdamW, lr 0.0008 x total batch / 256 (the released code's scaling rule),
# 10 warm-up epochs (from 1e-6), cosine to 1e-6, patch-embedding lr x 0.2,
# no decay on biases and norms, weight decay cosine 0.04 -> 0.1,
# per-parameter gradient clipping at 3.0. Other batches and epoch counts
# set lr, optim_wrapper.optimizer.lr, max_epochs and the schedulers (see
# configs/mugs/README.md); the Mugs demo uses it with its own lr and
# epochs.
max_epochs = 800
warmup_epochs = 10
lr = 0.0008 * 1024 / 256
optim_wrapper = dict(
    type='PerParamClipOptimWrapper',
    max_norm=3.0,
    optimizer=dict(
        type='AdamW',
        lr=lr,
        betas=(0.9, 0.999),
        weight_decay=0.04,
        # one fused kernel per step instead of a loop of element-wise ops
        # over ~60M parameters (CPU and CUDA; same update to float
        # rounding)
        fused=True),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            # custom keys bypass the *_decay_mult rules: list the bias too
            'backbone.patch_embed.projection.weight':
            dict(lr_mult=0.2),
            'backbone.patch_embed.projection.bias':
            dict(lr_mult=0.2, decay_mult=0.0),
        }))
# [0] lr warm-up, [1] lr cosine, [2] weight-decay cosine
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / lr,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingParamScheduler',
        param_name='weight_decay',
        eta_min_ratio=0.1 / 0.04,  # weight decay 0.04 -> 0.1
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
