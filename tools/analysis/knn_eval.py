"""kNN top-1 of a pretrained backbone on labeled Fashion-MNIST items.

    python tools/analysis/knn_eval.py CONFIG [CHECKPOINT] [--feature auto]
        [--num-train 5000] [--num-test 2000] [--k 20] [--t 0.07]
        [--compare-random] [--out FILE.json]

The backbone is built from CONFIG's ``model.backbone`` (returning raw tokens)
and, when CHECKPOINT is given, loaded STRICTLY from its ``backbone.*`` keys: a
missing or unexpected key is an error, never a warning. ``--compare-random``
also evaluates the same backbone at random initialisation (same seed), which
is the baseline the learned features must beat.
"""
import argparse
import json

import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None)
    p.add_argument('--feature', default='auto',
                   choices=['auto', 'cls', 'avg', 'cls+avg'],
                   help="'auto': mean patch token for MGC (its class token "
                   'is not trained), class token otherwise')
    p.add_argument('--num-train', type=int, default=5000)
    p.add_argument('--num-test', type=int, default=2000)
    p.add_argument('--img-size', type=int, default=None,
                   help='defaults to the backbone img_size')
    p.add_argument('--k', type=int, default=20)
    p.add_argument('--t', type=float, default=0.07)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--compare-random', action='store_true')
    p.add_argument('--out', default=None, help='write metrics as JSON')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='load a checkpoint whose pickle needs types '
                   'outside the allow-list (runs code from the file: '
                   'only for a file you checked)')
    return p.parse_args()


def load_images(split, num, size, seed, mean, std):
    import numpy as np

    from mmmgc.datasets import load_fashion_mnist, make_items
    images, labels = load_fashion_mnist(split=split)
    imgs, labs = make_items(images, labels, num, canvas=size, seed=seed)
    x = torch.from_numpy(np.ascontiguousarray(imgs[..., ::-1]))  # BGR->RGB
    x = x.permute(0, 3, 1, 2).float()
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1)
    return x, torch.from_numpy(labs)


def main():
    args = parse_args()
    if args.trust_checkpoint:
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    from mmengine.config import Config

    import mmmgc  # noqa: F401
    from mmmgc.evaluation import (build_frozen_backbone, extract_features,
                                  knn_top1, load_pretrained_backbone)

    cfg = Config.fromfile(args.config)
    feature = args.feature
    if feature == 'auto':
        feature = 'avg' if cfg.model.get('type', '') == 'MGC' else 'cls'
    pre = cfg.model.get('data_preprocessor', None) or cfg.get(
        'data_preprocessor', {})
    mean = pre.get('mean', [123.675, 116.28, 103.53])
    std = pre.get('std', [58.395, 57.12, 57.375])
    size = args.img_size or cfg.model.backbone.get('img_size', 64)

    torch.manual_seed(args.seed)
    xtr, ytr = load_images('train', args.num_train, size, args.seed + 1,
                           mean, std)
    xte, yte = load_images('test', args.num_test, size, args.seed + 2, mean,
                           std)
    results = {}
    runs = []
    if args.compare_random or args.checkpoint is None:
        runs.append(('random_init', None))
    if args.checkpoint is not None:
        runs.append(('pretrained', args.checkpoint))
    for name, ckpt in runs:
        torch.manual_seed(args.seed)
        backbone = build_frozen_backbone(cfg.model)
        if ckpt is not None:
            n = load_pretrained_backbone(backbone, ckpt)
            print(f'loaded {n} backbone tensors from {ckpt} (strict)')
        ftr = extract_features(backbone, xtr, feature)
        fte = extract_features(backbone, xte, feature)
        acc = knn_top1(ftr, ytr, fte, yte, num_classes=10, k=args.k,
                       temperature=args.t)
        results[name] = round(acc, 2)
        print(f'kNN top-1 ({name}, feature={feature}, k={args.k}, '
              f'T={args.t}, {args.num_train} train / {args.num_test} test '
              f'Fashion-MNIST items at {size} px): {acc:.2f} %')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(results, feature=feature, k=args.k, t=args.t),
                      f, indent=2)
    return results


if __name__ == '__main__':
    main()
