# ViTPose-S on COCO keypoints, 256 x 192, from an MGC-pretrained ViT-S/16,
# with the two settings the MGC paper's appendix states for pose estimation
# and the authors' released config does not use: layer-wise lr decay 0.75
# (mmpose's LayerDecayOptimWrapperConstructor, which groups
# mmpretrain.VisionTransformer parameters by backbone.layers.N: block i
# (0-based) gets lr x 0.75 ** (12 - i), the patch and position embeddings
# x 0.75 ** 13, the final norm and the head x 1) and drop path 0.3.
# Everything else (weight decay 0.05, no gradient clipping, schedule,
# batch, data) is the default config's, which follows the authors' code;
# the paper does not state those values.
_base_ = ['./td-hm_vit-small-p16_8xb64-210e_coco-256x192.py']

optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.75))

model = dict(backbone=dict(drop_path_rate=0.3))
