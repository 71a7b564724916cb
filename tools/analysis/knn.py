"""kNN top-1 of frozen backbone features (cosine similarity, the k nearest
vote with weight ``exp(sim / T)``; :mod:`mmmgc.evaluation.knn`).

    python tools/analysis/knn.py items CONFIG [CHECKPOINT] [--feature auto]
        [--num-train 5000] [--num-test 2000] [--k 20] [--t 0.07]
        [--compare-random] [--out FILE.json]
    python tools/analysis/knn.py dataset CONFIG [--checkpoint CKPT]
        [--k 10 20 100 200] [--temperature 0.07] [--out FILE.json]
        [--cfg-options k=v ...]
    python tools/analysis/knn.py quick-pretrain CONFIG [--iters 480]
        [--batch 64] [--samples 2048] [--lr 1e-3] [--seed 0]
        [--eval-every 160] [--cfg-options KEY=VALUE ...]

``items``: a PRETRAINING config's backbone (returning raw tokens), loaded
STRICTLY from CHECKPOINT's ``backbone.*`` keys (a missing or unexpected
key is an error, never a warning), on labelled single-item Fashion-MNIST
images (:func:`mmmgc.evaluation.knn_on_items`). ``--compare-random`` also
evaluates the same backbone at random initialisation (same seed), the
baseline the learned features must beat.

``dataset``: a CLASSIFICATION config (ImageNet or any mmpretrain dataset)
giving ``model`` (an ``ImageClassifier`` whose ``extract_feat`` returns
``(B, D)``), ``train_dataloader`` (the labelled bank, TEST pipeline),
``val_dataloader`` and ``knn = dict(k=..., temperature=...)``; the backbone
loads ``model.backbone.init_cfg.checkpoint`` (or ``--checkpoint``)
STRICTLY (:func:`mmmgc.evaluation.knn_from_config`). Single process.

``quick-pretrain``: a short in-process pretraining of CONFIG, then kNN of
the student backbone next to its random initialisation, a probe for
recipe changes (:func:`mmmgc.evaluation.quick_pretrain_knn`: the config's
hooks, weight-decay schedule and lr schedule are not used). One line per
20 iterations; the last line is ``RESULT`` JSON.
"""
import argparse
import json

import torch


def _trust_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load a checkpoint whose pickle needs types '
        'outside the allow-list (runs code from the file: '
        'only for a file you checked)')


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='command', required=True)

    items = sub.add_parser(
        'items', help='pretraining config, Fashion-MNIST items')
    items.add_argument('config')
    items.add_argument('checkpoint', nargs='?', default=None)
    items.add_argument(
        '--feature',
        default='auto',
        choices=['auto', 'cls', 'avg', 'cls+avg'],
        help="'auto': mean patch token for MGC (its class "
        'token is not trained), class token otherwise')
    items.add_argument('--num-train', type=int, default=5000)
    items.add_argument('--num-test', type=int, default=2000)
    items.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='defaults to the backbone img_size')
    items.add_argument('--k', type=int, default=20)
    items.add_argument('--t', type=float, default=0.07)
    items.add_argument('--seed', type=int, default=0)
    items.add_argument('--compare-random', action='store_true')
    items.add_argument('--out', default=None, help='write metrics as JSON')
    _trust_flag(items)

    dataset = sub.add_parser(
        'dataset', help='classification config, its train / val sets')
    dataset.add_argument('config')
    dataset.add_argument(
        '--checkpoint',
        default=None,
        help='overrides model.backbone.init_cfg.checkpoint')
    dataset.add_argument(
        '--k',
        type=int,
        nargs='+',
        default=None,
        help='overrides knn.k (one or more)')
    dataset.add_argument(
        '--temperature',
        type=float,
        default=None,
        help='overrides knn.temperature')
    dataset.add_argument('--out', default=None, help='write metrics as JSON')
    dataset.add_argument('--cfg-options', nargs='+', action=DictAction)
    _trust_flag(dataset)

    quick = sub.add_parser(
        'quick-pretrain', help='short in-process pretraining, then items')
    quick.add_argument('config')
    quick.add_argument('--iters', type=int, default=480)
    quick.add_argument('--batch', type=int, default=64)
    quick.add_argument('--samples', type=int, default=2048)
    quick.add_argument('--lr', type=float, default=1e-3)
    quick.add_argument('--seed', type=int, default=0)
    quick.add_argument('--threads', type=int, default=1)
    quick.add_argument('--eval-every', type=int, default=0)
    quick.add_argument('--tag', default='')
    quick.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={})
    return p.parse_args(argv)


def _write(path, res: dict, indent: int) -> None:
    if path:
        with open(path, 'w') as f:
            json.dump(res, f, indent=indent)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if getattr(args, 'trust_checkpoint', False):
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    if args.command == 'quick-pretrain':
        torch.set_num_threads(args.threads)
    from mmengine.config import Config

    from mmmgc.evaluation import (knn_from_config, knn_on_items,
                                  quick_pretrain_knn)
    cfg = Config.fromfile(args.config)
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    if args.command == 'items':
        res = knn_on_items(cfg, args.checkpoint, args.feature, args.num_train,
                           args.num_test, args.img_size, args.k, args.t,
                           args.seed, args.compare_random)
        _write(args.out, res, indent=2)
    elif args.command == 'dataset':
        res = knn_from_config(cfg, args.checkpoint, args.k, args.temperature)
        print(json.dumps(res, indent=1))
        _write(args.out, res, indent=1)
    else:
        res = quick_pretrain_knn(
            cfg,
            args.iters,
            args.batch,
            args.samples,
            args.lr,
            args.seed,
            args.eval_every,
            args.tag,
            log=lambda s: print(s, flush=True))
        print('RESULT', json.dumps(res), flush=True)
    return res


if __name__ == '__main__':
    main()
