# Mugs with ViT-S/16 (384 wide, 12 blocks, 6 heads): projectors
# 2048-2048-256, predictors 4096-256, group head 2048-2048-256 -> 65,536
# prototypes, queues and neighbour buffer of 65,536, k = 8, a 2-block
# aggregator (the paper; num_layers=1 reproduces the released code).
embed_dims = 384
model = dict(
    type='Mugs',
    backbone=dict(
        type='VisionTransformer',
        arch='deit-small',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='raw'),
    neck=dict(
        type='MugsAggregator',
        embed_dims=embed_dims,
        num_heads=6,
        feedforward_channels=4 * embed_dims,
        num_layers=2),
    instance_head=dict(
        type='MugsInfoNCEHead',
        in_channels=embed_dims,
        hid_channels=2048,
        out_channels=256,
        pred_hid_channels=4096,
        temperature=0.2,
        queue_length=65536,
        loss=dict(
            type='MugsInfoNCELoss', pair_weighting='half_global_half_local')),
    local_group_head=dict(
        type='MugsInfoNCEHead',
        in_channels=embed_dims,
        hid_channels=2048,
        out_channels=256,
        pred_hid_channels=4096,
        temperature=0.2,
        queue_length=65536,
        loss=dict(
            type='MugsInfoNCELoss', pair_weighting='half_global_half_local')),
    group_head=dict(
        type='MugsGroupHead',
        in_channels=embed_dims,
        hid_channels=2048,
        bottleneck_channels=256,
        num_prototypes=65536,
        norm_last_layer=False,
        student_temp=0.1,
        teacher_temp=0.04,
        center_momentum=0.9,
        loss=dict(
            type='MugsGroupLoss', pair_weighting='half_global_half_local')),
    num_global_crops=2,
    num_neighbours=8,
    neighbour_buffer_length=65536,
    separate_student_buffer=True,
    student_buffer_weak_only=True,
    loss_weights=dict(instance=1 / 3, local_group=1 / 3, group=1 / 3),
    ema_decay=0.996,  # weight of the OLD teacher value (mmmgc convention)
    ema_end_decay=1.0,
    # DINO's / the released code's init: truncated normal std 0.02
    backbone_init='trunc_normal')
