# kNN on frozen MGC features. MGC trains patch tokens only (its class token
# is computed but never trained), so the feature is the mean of the
# last-block patch tokens after the final LayerNorm; otherwise the DINO
# protocol shared with the Mugs config (k = 20, resize 256 + crop 224)
# with DINO's temperature 0.07 (the MGC paper and code have no kNN
# protocol; the Mugs config uses its authors' 0.05).
_base_ = ['../../../_base_/benchmarks/vit-small-p16_knn-k20_in1k.py']

model = dict(backbone=dict(out_type='featmap'))
knn = dict(temperature=0.07)
