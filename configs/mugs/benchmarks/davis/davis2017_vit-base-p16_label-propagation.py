# DAVIS-2017 semi-supervised video object segmentation by nearest-neighbour
# label propagation of frozen patch features (Mugs Table 7, ViT-B/16; the
# DINO protocol): context = first frame (given mask) + the 20 previous
# frames (propagated masks), as the authors' script runs it (20 there; 7 is
# DINO's argparse default); each patch takes its 5 most similar context
# patches within a 12-patch window, weighted by softmax(cosine / 0.1).
# Fidelity table (paper | authors' code | ours): README.md in this folder.
# Run with tools/analysis/davis_propagation.py (see README.md).
custom_imports = dict(imports=['mmmgc'], allow_failed_imports=False)

# frozen backbone: last-block patch tokens after the final LayerNorm
model = dict(
    type='StrictPretrainedViT',
    arch='base',  # ViT-B/16: 768 wide, 12 blocks, 12 heads
    img_size=224,
    patch_size=16,
    out_indices=[-1],
    out_type='featmap',
    final_norm=True,
    init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'))

data = dict(
    data_root='data/DAVIS',
    resolution='480p',
    image_set='ImageSets/2017/val.txt',
    # frames are resized to a short side of 480 and the long side floored to
    # a multiple of 64 (as DINO); predictions go back to the original size
    short_side=480,
    size_divisor=64,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375])

propagation = dict(n_last_frames=20, topk=5, temperature=0.1, radius=12)

# J (IoU) and F (boundary F, tolerance 0.008 x diagonal), first and last
# frames not scored
metric = dict(bound_th=0.008)

# predicted masks are written here as palette PNGs in the DAVIS results
# layout (<output_dir>/<sequence>/<frame>.png), for the official toolkit
output_dir = 'work_dirs/davis2017_vit-base-p16_label-propagation'
