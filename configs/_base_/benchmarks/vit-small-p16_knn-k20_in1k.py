# kNN on frozen ViT-S/16 features (DINO protocol): the class token after
# the final LayerNorm, L2-normalised (inside the kNN maths), k = 20 nearest
# training images (resize 256 + centre crop 224 for the bank and the
# queries) vote with weight exp(sim / knn.temperature), which the child
# sets. Used by the MGC and Mugs kNN configs
# (configs/{mgc,mugs}/benchmarks/classification). Run with
# tools/analysis/knn.py dataset.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_bicubic.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

vit_small = dict(
    embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536)
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='StrictPretrainedViT',
        arch=vit_small,
        img_size=224,
        patch_size=16,
        out_indices=[-1],
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='MultiLayerConcatNeck', num_layers=1),
    head=None)

# resize 256 (bicubic) + centre crop 224, for the bank and the queries
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    dataset=dict(split='train', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# k may be a list: the Mugs authors' script sweeps (10, 20, 100, 200)
knn = dict(k=20)
