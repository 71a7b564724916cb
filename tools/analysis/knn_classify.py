"""kNN top-1 of frozen features on a classification data set (ImageNet or
any mmpretrain dataset), from a classification config.

    python tools/analysis/knn_classify.py CONFIG [--checkpoint CKPT]
        [--k 10 20 100 200] [--temperature 0.07] [--out FILE.json]
        [--cfg-options k=v ...]

CONFIG gives ``model`` (an ``ImageClassifier`` whose ``extract_feat`` returns
``(B, D)``: e.g. the class token after the final norm), ``train_dataloader``
(the labelled bank, with the TEST pipeline) and ``val_dataloader``, plus
``knn = dict(k=..., temperature=...)``. The backbone loads
``model.backbone.init_cfg.checkpoint`` (or ``--checkpoint``) STRICTLY. The
kNN maths (cosine similarity, ``exp(sim / T)`` votes of the k nearest) is
:mod:`mmmgc.evaluation.knn`. Single process.
"""
import argparse
import json

from mmengine.config import Config, DictAction


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('--checkpoint', default=None,
                   help='overrides model.backbone.init_cfg.checkpoint')
    p.add_argument('--k', type=int, nargs='+', default=None,
                   help='overrides knn.k (one or more)')
    p.add_argument('--temperature', type=float, default=None,
                   help='overrides knn.temperature')
    p.add_argument('--out', default=None, help='write metrics as JSON')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='load a checkpoint whose pickle needs types '
                   'outside the allow-list (runs code from the file: '
                   'only for a file you checked)')
    return p.parse_args()


def knn_from_config(cfg, checkpoint=None, ks=None, temperature=None):
    """Run the protocol; returns ``{'top1_k20': ..., ...}`` (percent)."""
    import mmmgc  # noqa: F401  (registries, safe checkpoint loader)
    from mmengine.runner import Runner

    from mmmgc.evaluation.dataloader_features import (
        build_feature_model, extract_dataloader_features)
    from mmmgc.evaluation.knn import knn_top1
    if 'knn' not in cfg:
        raise KeyError(f'{cfg.filename}: no `knn` settings (knn = dict(k=20,'
                       ' temperature=0.07))')
    ks = ks or cfg.knn.k
    ks = [ks] if isinstance(ks, int) else list(ks)
    t = temperature if temperature is not None else cfg.knn.temperature
    model = build_feature_model(cfg, checkpoint)
    train_f, train_l = extract_dataloader_features(
        model, Runner.build_dataloader(cfg.train_dataloader))
    val_f, val_l = extract_dataloader_features(
        model, Runner.build_dataloader(cfg.val_dataloader))
    num_classes = int(max(train_l.max(), val_l.max())) + 1
    out = {}
    for k in ks:
        out[f'top1_k{k}'] = knn_top1(train_f, train_l, val_f, val_l,
                                     num_classes, k=k, temperature=t)
    out.update(temperature=t, num_train=len(train_l), num_val=len(val_l))
    return out


def main():
    args = parse_args()
    if args.trust_checkpoint:
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    res = knn_from_config(cfg, args.checkpoint, args.k, args.temperature)
    print(json.dumps(res, indent=1))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
