# CPU mini benchmark (tools/benchmarks/mini_benchmark.py, docs/benchmarks.md):
# Mugs with the recipe of configs/mugs/mugs_demo.py (2 x 64 px global +
# 4 x 32 px local crops) at the SHARED BUDGET below.
_base_ = ['../../mugs/mugs_demo.py']

# --- shared budget: identical in every configs/benchmarks/mini/*.py -------
# (tests/benchmarks/test_mini_benchmark.py and the benchmark script check
# it): tiny ViT 2 x 64, 4 heads, patch 8, 64 px; 2048 unlabeled
# Fashion-MNIST scenes (seed 0); batch 64; 15 epochs = 480 iterations.
max_epochs = 15
train_dataloader = dict(
    batch_size=64, dataset=dict(num_samples=2048, seed=0, img_size=64))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=8),
    checkpoint=dict(
        type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0, diff_rank_seed=True)
# --------------------------------------------------------------------------

# the method's own schedules, laid over max_epochs
warmup_epochs = 1
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
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
        eta_min_ratio=0.1 / 0.04,  # 0.04 -> 0.1 (0-decay groups stay 0)
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
