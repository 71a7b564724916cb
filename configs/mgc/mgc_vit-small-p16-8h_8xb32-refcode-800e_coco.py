# NOT the paper's setting: the choices of the authors' public code, for
# whoever wants to reproduce it (see configs/mgc/README.md). Differences from
# mgc_vit-small-p16_8xb32-coslr-800e_coco.py:
# - hard one-hot InfoNCE per (query, key) pair, mean over pairs, padding
#   masked (the public code trains its zero-weight padding pairs as
#   positives; that defect is not reproduced);
# - a separate projector and predictor per granularity, hidden width 4096;
# - ViT-S with 8 attention heads and drop path 0.05;
# - view 2 re-sampled until IoU(view 1, view 2) >= 0.2; crop area (0.2, 1);
# - weight decay on every parameter; per-parameter gradient clipping at 3.0.
_base_ = ['./mgc_vit-small-p16_8xb32-coslr-800e_coco.py']
model = dict(
    backbone=dict(
        arch=dict(
            embed_dims=384,
            num_layers=12,
            num_heads=8,
            feedforward_channels=1536),
        drop_path_rate=0.05),
    neck=dict(hid_channels=4096, shared=False),
    head=dict(
        hid_channels=4096,
        shared=False,
        loss=dict(type='MGCSoftTargetLoss', mode='hard')))
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='RobustLoadImage'),
            dict(
                type='MGCTwoViewCrop',
                size=224,
                scale=(0.2, 1.0),
                ratio=(3. / 4., 4. / 3.),
                flip_prob=0.5,
                min_overlap=0.2,
                interpolation='bicubic',
                backend='pillow',
                view_pipelines=[
                    {{_base_.view1_pipeline}}, {{_base_.view2_pipeline}}
                ]),
            dict(
                type='PackInputs',
                algorithm_keys=['view_boxes', 'view_flips'])
        ]))
optim_wrapper = dict(
    _delete_=True,
    type='PerParamClipOptimWrapper',
    max_norm=3.0,
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05))
