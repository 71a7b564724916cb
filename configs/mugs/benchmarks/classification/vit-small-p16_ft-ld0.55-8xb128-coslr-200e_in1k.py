# Full fine-tuning with layer-wise lr decay (Mugs Table 3, appendix B.2.1):
# ViT-S/16, AdamW lr 1.2e-3 at batch 1024 (8 GPUs x 128), layer decay 0.55,
# drop path 0.1, 200 epochs; BEiT/DeiT recipe inherited from mmpretrain's
# MAE fine-tuning config (RandAugment, Mixup 0.8, CutMix 1.0, label smoothing
# 0.1, random erasing 0.25, weight decay 0.05, cosine to 1e-6); 20 warm-up
# epochs (the authors' script; the paper does not state it).
# Fidelity table (paper | authors' code | ours): README.md in this folder.
# Classifier on the class token after the final norm, so every pretrained
# key (including the final norm) is used and loaded strictly.
_base_ = [
    '../../../_base_/benchmarks/'
    'vit-small-p16_ft-ld0.55-8xb128-coslr-200e_in1k.py'
]
