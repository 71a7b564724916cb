# Semi-supervised logistic regression on frozen features, 1 % of the
# ImageNet-1K labels (Mugs Table 4, appendix B.2.2): the 10 % config
# (AdamW, batch 1024, weight decay 0.05, lr swept over (0.03, 0.06, 0.1,
# 0.2), best reported) on the 1 % subset. Run with
# tools/analysis/logreg_classify.py (README.md).
_base_ = ['./vit-small-p16_logreg-10pct_in1k.py']

train_dataloader = dict(dataset=dict(ann_file='meta/train_1percent.txt'))
