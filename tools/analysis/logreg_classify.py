"""Semi-supervised logistic regression on frozen features (Mugs Table 4:
1 % / 10 % of the ImageNet labels), from a classification config.

    python tools/analysis/logreg_classify.py CONFIG [--checkpoint CKPT]
        [--out FILE.json] [--cfg-options k=v ...]

CONFIG gives ``model`` (an ``ImageClassifier`` whose ``extract_feat`` returns
``(B, D)``), ``train_dataloader`` (the labelled subset, TEST pipeline),
``val_dataloader`` and ``logreg = dict(lr=(...), weight_decay=...,
epochs=..., batch_size=...)``. One classifier is fitted per
learning rate (:func:`mmmgc.evaluation.logreg_from_config`); every top-1
and the best are printed. The backbone loads its checkpoint STRICTLY.
Single process.
"""
import argparse
import json

from mmengine.config import Config, DictAction


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument(
        '--checkpoint',
        default=None,
        help='overrides model.backbone.init_cfg.checkpoint')
    p.add_argument('--out', default=None, help='write metrics as JSON')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load a checkpoint whose pickle needs types '
        'outside the allow-list (runs code from the file: '
        'only for a file you checked)')
    return p.parse_args()


def main():
    args = parse_args()
    if args.trust_checkpoint:
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    from mmmgc.evaluation import logreg_from_config
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
