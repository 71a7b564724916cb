# Full fine-tuning of an MGC backbone with layer-wise lr decay: the Mugs /
# iBOT ViT-S recipe (AdamW 1.2e-3 at batch 1024, layer decay 0.55, drop
# path 0.1, 200 epochs). The MGC paper reports no ImageNet classification;
# this config exists so that MGC and Mugs backbones can be compared under
# one protocol. The class token starts from its (untrained) pretrained
# value and is trained here.
_base_ = [
    '../../../_base_/benchmarks/'
    'vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py'
]
