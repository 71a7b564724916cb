# Appendix B.1.3: AdamW, 10 warm-up epochs (from 1e-6), cosine to 1e-6,
# patch-embedding lr x 0.2, no decay on biases and norms, weight decay
# cosine 0.04 -> 0.1, per-parameter gradient clipping at 3.0. The child
# config sets lr (= 0.0008 x total batch / 256, see configs/mugs/README.md)
# and the epoch counts; these values are for 100 epochs at lr 1.6e-3.
max_epochs = 100
warmup_epochs = 10
optim_wrapper = dict(
    type='PerParamClipOptimWrapper',
    max_norm=3.0,
    optimizer=dict(
        type='AdamW',
        lr=1.6e-3,
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
            'backbone.patch_embed.projection.weight': dict(lr_mult=0.2),
            'backbone.patch_embed.projection.bias':
            dict(lr_mult=0.2, decay_mult=0.0),
        }))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 1.6e-3,
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
        eta_min_ratio=0.1 / 0.04,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
