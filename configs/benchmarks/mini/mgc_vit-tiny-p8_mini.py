# CPU mini benchmark (tools/benchmarks/mini_benchmark.py, docs/benchmarks.md):
# MGC with the recipe of
# configs/mgc/mgc_demo.py at the SHARED BUDGET below.
_base_ = ['../../mgc/mgc_demo.py']

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

# the method's own schedule, laid over max_epochs
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-6,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
