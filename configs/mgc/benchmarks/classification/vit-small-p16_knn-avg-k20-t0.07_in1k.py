# kNN on frozen MGC features. MGC trains patch tokens only (its class token
# is computed but never trained), so the feature is the mean of the
# last-block patch tokens after the final LayerNorm; otherwise the DINO
# protocol of the Mugs config (k = 20, T = 0.07, resize 256 + crop 224).
_base_ = [
    '../../../mugs/benchmarks/classification/'
    'vit-small-p16_knn-k20-t0.07_in1k.py'
]

model = dict(
    backbone=dict(out_type='featmap'),
    neck=dict(type='MultiLayerConcatNeck', num_layers=1))
