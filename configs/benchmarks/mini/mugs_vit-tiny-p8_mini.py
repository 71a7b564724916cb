# CPU mini benchmark (tools/benchmarks/mini_benchmark.py, docs/benchmarks.md):
# Mugs with the recipe of configs/mugs/mugs_demo.py (2 x 64 px global +
# 4 x 32 px local crops) at the SHARED BUDGET below.
_base_ = ['../../mugs/mugs_demo.py']

# Shared colour augmentation: every item of a scene is tinted with ONE
# random colour, identical in all views of the scene, so with the papers'
# ImageNet jitter (hue 0.1, saturation 0.2, grayscale 0.2) colour alone
# solves the pretext tasks and nothing about shape is learned (measured:
# docs/benchmarks.md, "colour shortcut"). All methods here use: colour
# jitter (brightness 0.4, contrast 0.4, saturation 0.8, hue 0.5) on every
# view, then grayscale with probability 0.5.
jitter = dict(
    type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.8, hue=0.5)
grayscale = dict(
    type='RandomGrayscale',
    prob=0.5,
    keep_channels=True,
    channel_weights=(0.114, 0.587, 0.2989))

# Mugs demo's multi-crop (2 x 64 px global, 4 x 32 px local) with the shared
# colour augmentation
train_pipeline = [
    dict(
        type='MugsMultiCrop',
        num_global_crops=2,
        global_size=64,
        global_scale=(0.2, 1.0),
        num_local_crops=4,
        local_size=32,
        local_scale=(0.05, 0.25),
        strong_prob=0.5,
        color_jitter=(jitter['brightness'], jitter['contrast'],
                      jitter['saturation'], jitter['hue']),
        color_jitter_prob=1.0,
        grayscale_prob=grayscale['prob'],
        # the demo's small-scale recipe (configs/mugs/README.md): no blur
        # or solarisation at 64 px
        global_blur_probs=(0.0, ),
        global_solarize_probs=(0.0, ),
        local_blur_prob=0.0),
    dict(type='PackInputs', algorithm_keys=['mugs_weak'])
]

# --- shared budget: identical in every configs/benchmarks/mini/*.py -------
# (tests/test_tools/test_mini_benchmark.py and the benchmark script check
# it): tiny ViT 2 x 64, 4 heads, patch 8, 64 px; 2048 unlabeled
# Fashion-MNIST scenes (seed 0); batch 64; 15 epochs = 480 iterations; data
# loading in the main process; one colour augmentation strength (above).
max_epochs = 15
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        num_samples=2048, seed=0, img_size=64, pipeline=train_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=8),
    checkpoint=dict(
        type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0, diff_rank_seed=True)
# --------------------------------------------------------------------------

# the method's own schedules (the demo's warm-up, then lr and weight-decay
# cosines over max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - _base_.warmup_epochs,
        end=max_epochs),
    dict(_base_.param_scheduler[2], end=max_epochs),
]
