# ViTPose-S top-down heatmap pose estimation on COCO keypoints, 256 x 192,
# from an MGC-pretrained ViT-S/16 (MGC Table 5; appendix: 210 epochs, lr / 10
# at epochs 170 and 200, layer-wise lr decay 0.75, drop path 0.3).
# Inherits mmpose's own ViTPose-S config: UDP heatmaps 64 x 48 with sigma 2,
# HeatmapHead with two 256-channel deconvolutions, AdamW lr 5e-4, weight
# decay 0.1, 500-iteration warm-up, batch 512 (8 GPUs x 64), flip test.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_ViTPose-small_8xb64-210e_coco-256x192.py'
]
custom_imports = dict(
    imports=[
        'mmpose.engine.optim_wrappers.layer_decay_optim_wrapper', 'mmmgc'
    ],
    allow_failed_imports=False)

# mmpose's LayerDecayOptimWrapperConstructor (groups by
# backbone.layers.N, which is mmpretrain.VisionTransformer's naming):
# block i (0-based) gets lr x 0.75 ** (12 - i), the patch and position
# embeddings x 0.75 ** 13, the final norm and the head x 1
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.75))

model = dict(
    backbone=dict(
        type='mmpretrain.StrictPretrainedViT',
        # standard ViT-S/16 (mmpose's ViTPose-S config uses 12 heads: the
        # MAE-small of its checkpoint; MGC's ViT-S has 6)
        arch=dict(
            embed_dims=384,
            num_layers=12,
            num_heads=6,
            feedforward_channels=1536),
        img_size=(256, 192),
        patch_size=16,
        qkv_bias=True,
        drop_path_rate=0.3,
        # ViTPose has no class token. The strict loader reports an unused
        # checkpoint `cls_token` as an error, so the exported token is kept
        # in the sequence (its output is dropped: out_type='featmap').
        with_cls_token=True,
        out_type='featmap',
        patch_cfg=dict(padding=2),
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    head=dict(in_channels=384))
