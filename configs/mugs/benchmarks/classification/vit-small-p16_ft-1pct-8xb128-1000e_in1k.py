# Semi-supervised fine-tuning on 1 % of the ImageNet-1K labels (Mugs
# Table 4, appendix B.2.2): the 10 % config with lr 2e-6 (ViT-S/16, AdamW,
# batch 1024, weight decay 0.05, 1000 epochs, no layer-wise decay). The
# subset list is SimCLR's 1percent.txt, turned into
# meta/train_1percent.txt (README.md).
_base_ = ['./vit-small-p16_ft-10pct-8xb128-1000e_in1k.py']

train_dataloader = dict(dataset=dict(ann_file='meta/train_1percent.txt'))
optim_wrapper = dict(optimizer=dict(lr=2e-6))
