# Linear probe of frozen MGC features: the mean patch token of each of the
# last 4 blocks (each through the pretrained final LayerNorm),
# concatenated (1536-d for ViT-S), because MGC's class token is untrained.
# Optimisation and augmentation are the Mugs config's (its authors' ViT-S
# recipe: SGD lr 0.04 at batch 1024, cosine, 100 epochs, RandAugment +
# random erasing); the MGC paper and code have no linear protocol.
_base_ = [
    '../../../_base_/benchmarks/'
    'vit-small-p16_linear-last4-8xb128-coslr-100e_in1k.py'
]

model = dict(backbone=dict(out_type='featmap'))
