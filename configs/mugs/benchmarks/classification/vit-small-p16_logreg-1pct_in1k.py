# Semi-supervised logistic regression on frozen features, 1 % of the
# ImageNet-1K labels (Mugs Table 4, appendix B.2.2): AdamW, batch 1024,
# weight decay 0.05, lr swept over (0.03, 0.06, 0.1, 0.2), best reported.
# Features: class token after the final norm (as for kNN). Run with
# tools/analysis/logreg_classify.py (README.md).
_base_ = ['./vit-small-p16_knn-k20-t0.05_in1k.py']

train_dataloader = dict(
    dataset=dict(split='train', ann_file='meta/train_1percent.txt'))

knn = None
# epochs is our choice (the paper does not state it); features are
# standardised with the subset's statistics (mmmgc.evaluation.linear_probe)
logreg = dict(
    lr=(0.03, 0.06, 0.1, 0.2),
    weight_decay=0.05,
    batch_size=1024,
    epochs=100,
    num_classes=1000)
