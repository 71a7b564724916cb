"""Semi-supervised logistic regression on frozen features (Mugs Table 4:
1 % / 10 % of the ImageNet labels), from a classification config.

    python tools/analysis/logreg_classify.py CONFIG [--checkpoint CKPT]
        [--out FILE.json] [--cfg-options k=v ...]

CONFIG gives ``model`` (an ``ImageClassifier`` whose ``extract_feat`` returns
``(B, D)``), ``train_dataloader`` (the labelled subset, TEST pipeline),
``val_dataloader`` and ``logreg = dict(lr=(...), weight_decay=...,
epochs=..., batch_size=...)``. One classifier is fitted per
learning rate (:mod:`mmmgc.evaluation.logistic_regression`); every top-1
and the best are printed. The backbone loads its checkpoint STRICTLY.
Single process.
"""
import argparse
import json

from mmengine.config import Config, DictAction


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('--checkpoint', default=None,
                   help='overrides model.backbone.init_cfg.checkpoint')
    p.add_argument('--out', default=None, help='write metrics as JSON')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='load a checkpoint whose pickle needs types '
                   'outside the allow-list (runs code from the file: '
                   'only for a file you checked)')
    return p.parse_args()


def logreg_from_config(cfg, checkpoint=None):
    """Run the protocol; returns the sweep result (percent)."""
    import mmmgc  # noqa: F401  (registries, safe checkpoint loader)
    from mmengine.runner import Runner

    from mmmgc.evaluation.dataloader_features import (
        build_feature_model, extract_dataloader_features)
    from mmmgc.evaluation.logistic_regression import \
        sweep_logistic_regression
    if 'logreg' not in cfg:
        raise KeyError(f'{cfg.filename}: no `logreg` settings')
    lr_cfg = cfg.logreg
    model = build_feature_model(cfg, checkpoint)
    train_f, train_l = extract_dataloader_features(
        model, Runner.build_dataloader(cfg.train_dataloader))
    val_f, val_l = extract_dataloader_features(
        model, Runner.build_dataloader(cfg.val_dataloader))
    num_classes = lr_cfg.get('num_classes') or int(
        max(train_l.max(), val_l.max())) + 1
    lrs = lr_cfg.lr if isinstance(lr_cfg.lr, (list, tuple)) else [lr_cfg.lr]
    res = sweep_logistic_regression(
        train_f, train_l, val_f, val_l, num_classes, lrs=lrs,
        weight_decay=lr_cfg.weight_decay, epochs=lr_cfg.epochs,
        batch_size=lr_cfg.batch_size,
        seed=lr_cfg.get('seed', 0))
    res.update(num_train=len(train_l), num_val=len(val_l))
    return res


def main():
    args = parse_args()
    if args.trust_checkpoint:
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    res = logreg_from_config(cfg, args.checkpoint)
    print(json.dumps(res, indent=1))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
