# Mugs on the embedded default data (Fashion-MNIST scenes): a tiny ViT
# (2 layers, 64 wide, patch 8), 64 px global and 32 px local crops, small
# heads, queues and prototype count. Trains on 2 CPU cores in a few minutes:
#   MMMGC_DEMO_CONFIG=configs/mugs/mugs_demo.py bash tools/run_demo.sh
#
# Small-scale recipe (each change measured in configs/mugs/README.md, "Why
# the demo differs from the paper"): with the paper's heads, augmentation
# and a trainable patch embedding, a 2-layer ViT on 1,536 scenes does not
# learn in a few hundred steps. The demo therefore
# - freezes the random patch embedding (MoCoV3ViT, stop_grad_conv1), as the
#   MoCo v3 demo does;
# - puts BatchNorm in the IDS / LGDS projectors and predictors (hidden
#   layers, plus a non-affine BN after the last layer, as MoCo v3) and lets
#   the teacher's BN normalise with the batch (teacher_batch_stats);
# - jitters colour hard and does not blur or solarise (a scene's items share
#   one tint, so ImageNet's jitter lets colour alone solve the tasks, and a
#   224 px blur sigma wipes out a 64 px crop).
# The paper's recipe is the ImageNet configs next to this one.
_base_ = [
    '../_base_/schedules/mugs_adamw-coslr-800e.py',
    '../_base_/default_runtime.py'
]

global_size = 64
local_size = 32
num_local_crops = 4
embed_dims = 64
batch_size = 64
max_epochs = 20
queue_length = 1024

train_pipeline = [
    dict(
        type='MugsMultiCrop',
        num_global_crops=2,
        global_size=global_size,
        global_scale=(0.2, 1.0),
        num_local_crops=num_local_crops,
        local_size=local_size,
        local_scale=(0.05, 0.25),
        strong_prob=0.5,
        # Every item of a scene is tinted with one random colour, the same
        # in all crops: with ImageNet's jitter (hue 0.1, saturation 0.2,
        # grayscale 0.2) colour alone solves the pretext tasks. The demo
        # jitters colour harder, as the CPU mini benchmark does.
        color_jitter=(0.4, 0.4, 0.8, 0.5),
        color_jitter_prob=1.0,
        grayscale_prob=0.5,
        global_blur_probs=(0.0, ),
        global_solarize_probs=(0.0, ),
        local_blur_prob=0.0),
    dict(type='PackInputs', algorithm_keys=['mugs_weak'])
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTScenes',
        num_samples=1536,  # 24 iterations per epoch, 480 in all
        img_size=global_size,
        seed=0,
        pipeline=train_pipeline))

model = dict(
    type='Mugs',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='MoCoV3ViT',  # VisionTransformer + frozen patch embedding
        arch=dict(
            embed_dims=embed_dims,
            num_layers=2,
            num_heads=4,
            feedforward_channels=4 * embed_dims),
        img_size=global_size,
        patch_size=8,
        stop_grad_conv1=True,
        drop_path_rate=0.1,
        out_type='raw'),
    neck=dict(
        type='MugsAggregator',
        embed_dims=embed_dims,
        num_heads=4,
        feedforward_channels=4 * embed_dims,
        num_layers=2),
    instance_head=dict(
        type='MugsInfoNCEHead',
        in_channels=embed_dims,
        hid_channels=256,
        out_channels=64,
        pred_hid_channels=256,
        temperature=0.2,
        queue_length=queue_length,
        norm_cfg=dict(type='GlobalBN1d'),
        last_norm_cfg=dict(type='GlobalBN1d', affine=False),
        loss=dict(
            type='MugsInfoNCELoss', pair_weighting='half_global_half_local')),
    local_group_head=dict(
        type='MugsInfoNCEHead',
        in_channels=embed_dims,
        hid_channels=256,
        out_channels=64,
        pred_hid_channels=256,
        temperature=0.2,
        queue_length=queue_length,
        norm_cfg=dict(type='GlobalBN1d'),
        last_norm_cfg=dict(type='GlobalBN1d', affine=False),
        loss=dict(
            type='MugsInfoNCELoss', pair_weighting='half_global_half_local')),
    group_head=dict(
        type='MugsGroupHead',
        in_channels=embed_dims,
        hid_channels=256,
        bottleneck_channels=64,
        num_prototypes=1024,
        norm_last_layer=False,
        student_temp=0.1,
        teacher_temp=0.04,
        center_momentum=0.9,
        loss=dict(
            type='MugsGroupLoss', pair_weighting='half_global_half_local')),
    num_global_crops=2,
    num_neighbours=8,
    neighbour_buffer_length=queue_length,
    ema_decay=0.99,  # short run: a faster teacher than 0.996
    ema_end_decay=1.0,
    teacher_batch_stats=True)

# Optimisation as appendix B.1.3 (AdamW, warm-up + cosine, weight decay
# cosine 0.04 -> 0.1, patch-embedding lr x 0.2, per-parameter clipping 3.0)
# except the lr: the paper's rule (0.0008 x 64 / 256 = 2e-4) is too small
# for 480 iterations, so the demo uses 1e-3 as the MoCo v3 demo does.
lr = 1e-3
optim_wrapper = dict(optimizer=dict(lr=lr))
warmup_epochs = 1
# the base's lr warm-up (from 1e-6), lr cosine and weight-decay cosine
# (0.04 -> 0.1; 0-decay groups stay 0), over max_epochs
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-3, end=warmup_epochs),
    dict(
        _base_.param_scheduler[1],
        T_max=max_epochs - warmup_epochs,
        begin=warmup_epochs,
        end=max_epochs),
    dict(_base_.param_scheduler[2], end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    # constant 0.04, as the paper's shortest (ViT-S 100 epochs) schedule
    dict(
        type='MugsTeacherTempHook',
        warmup_temp=0.04,
        temp=0.04,
        warmup_epochs=0),
    dict(type='MugsFreezeLastLayerHook', freeze_epochs=1),
]

# log every 10 iterations, checkpoint every 5 epochs, keep 2
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=2))
# MoCoV3ViT freezes its patch embedding in init_weights(), after the Runner
# has wrapped the model in DDP (as mmpretrain's MoCo v3 configs do).
find_unused_parameters = True
