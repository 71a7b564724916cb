# Linear probe (Mugs Table 2, DINO/iBOT protocol for ViT-S): the class tokens
# of the last 4 blocks, each through the pretrained final LayerNorm,
# concatenated (4 x 384 = 1536-d); frozen backbone; SGD momentum 0.9,
# weight decay 0, cosine lr to 0, 100 epochs, batch 1024 (8 GPUs x 128).
# As the authors' script runs ViT-S 800 ep: lr 0.01 per 256 images, i.e.
# 0.04 at 1024 (their 100 / 300-ep runs use 0.015 / 0.02 per 256), and
# their training augmentation: flip, RandAugment rand-m9-mstd0.5-inc1 on
# the full image, RandomResizedCrop 224, RandomErasing p 0.25 (per-pixel
# noise). The paper states neither.
# The reported number is the best validation top-1 (save_best in the base).
# Fidelity table (paper | authors' code | ours): README.md in this folder.
_base_ = [
    '../../../_base_/benchmarks/'
    'vit-small-p16_linear-last4-8xb128-coslr-100e_in1k.py'
]
