# CPU mini benchmark (tools/benchmarks/mini_benchmark.py, docs/benchmarks.md):
# MGC with the recipe of
# configs/mgc/mgc_demo.py at the SHARED BUDGET below.
_base_ = ['../../mgc/mgc_demo.py']

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

# MGC demo's views (blur sigma scaled to 64 px, solarize on view 2) with the
# shared colour augmentation
view1_pipeline = [
    jitter,
    grayscale,
    dict(
        type='GaussianBlur',
        magnitude_range=(0.03, 0.57),
        magnitude_std='inf',
        prob=1.0),
]
view2_pipeline = [
    jitter,
    grayscale,
    dict(
        type='GaussianBlur',
        magnitude_range=(0.03, 0.57),
        magnitude_std='inf',
        prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(
        type='MGCTwoViewCrop',
        size=64,
        scale=(0.2, 1.0),
        ratio=(3. / 4., 4. / 3.),
        flip_prob=0.5,
        min_overlap=0.2,
        view_pipelines=[view1_pipeline, view2_pipeline]),
    dict(type='PackInputs', algorithm_keys=['view_boxes', 'view_flips'])
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

# MGC's head temperature and lr, pinned to the values of the demo recipe at
# the time of the recorded run (tau 0.2 as MoCo v3, lr 3e-3; the paper-scale
# tau 0.1 with lr 1e-3 is variants/mgc_paper-temperature.py)
model = dict(head=dict(temperature=0.2))
optim_wrapper = dict(optimizer=dict(lr=3e-3))

# the method's own schedule (the demo's warm-up, then cosine over
# max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], T_max=max_epochs - 1, end=max_epochs),
]
