# MGC with ViT-S/16 (paper Sec. 3-4, Table 7): granularities {1, 2, 7}
# (Table 6's best) with 10, 10, 2 query cells per image, projector
# 2048-2048-128 and predictor 2048-128 (BN, ReLU, last BN without affine),
# shared across granularities, EMA decay 0.996 -> 1 (cosine), tau = 0.1.
model = dict(
    type='MGC',
    granularities=(1, 2, 7),
    num_samples=(10, 10, 2),
    key_cells='overlap',
    symmetric=True,
    ema_decay=0.996,  # weight of the OLD teacher value (mmmgc convention)
    ema_end_decay=1.0,
    # the authors' init: truncated normal std 0.02 on every Linear weight
    backbone_init='trunc_normal',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='MoCoV3ViT',  # fixed 2-D sin-cos position embedding
        arch=dict(
            embed_dims=384,
            num_layers=12,
            num_heads=6,
            feedforward_channels=1536),
        img_size=224,
        patch_size=16,
        drop_path_rate=0.0,
        out_type='featmap'),
    neck=dict(
        type='MGCProjectionNeck',
        in_channels=384,
        hid_channels=2048,
        out_channels=128,
        num_layers=3,
        shared=True),
    head=dict(
        type='MGCHead',
        in_channels=128,
        hid_channels=2048,
        out_channels=128,
        num_layers=2,
        shared=True,
        temperature=0.1,
        loss=dict(type='MGCSoftTargetLoss', mode='soft')))
# MoCoV3ViT freezes its sin-cos pos_embed in init_weights(), after the
# Runner has wrapped the model in DDP (as in mmpretrain's MoCo v3 configs).
find_unused_parameters = True
