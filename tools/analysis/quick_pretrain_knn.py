"""Short in-process pretraining of a config, then kNN top-1 of the student
backbone next to its random initialisation (a probe for recipe changes,
not a benchmark).

    python tools/analysis/quick_pretrain_knn.py CONFIG [--iters 480]
        [--batch 64] [--samples 2048] [--lr 1e-3] [--seed 0]
        [--eval-every 160] [--cfg-options KEY=VALUE ...]

The model, dataset and optimiser wrapper come from CONFIG (with
``--cfg-options`` merged); the learning rate follows a linear warm-up over
the first 10 % of ``--iters`` and a cosine decay; the weight-decay schedule
and hooks of the config are not used. kNN: k=20, T=0.07, class token, on
2,000 / 1,000 labelled Fashion-MNIST items (``tools/analysis/knn_eval.py``
uses 5,000 / 2,000). One line per 20 iterations gives the mean losses and,
for Mugs, ``qmean`` = the norm of the mean instance-queue row (1 = every
target identical, about 0 = spread out). The last line is ``RESULT`` JSON.
"""
import argparse
import json
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def parse_args():
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('--iters', type=int, default=480)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--samples', type=int, default=2048)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--eval-every', type=int, default=0)
    p.add_argument('--tag', default='')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return p.parse_args()


def main():
    args = parse_args()
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    import mmmgc  # noqa: F401
    from knn_eval import load_images
    from mmmgc.evaluation import extract_features, knn_top1
    from mmmgc.models.utils import cosine_decay
    from mmpretrain.registry import DATASETS, MODELS

    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.train_dataloader.dataset.num_samples = args.samples
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    hub = MessageHub.get_instance('quick_pretrain_knn')
    hub.update_info('max_iters', args.iters)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        model = MODELS.build(cfg.model)
        model.init_weights()
        ow = build_optim_wrapper(
            model,
            dict(cfg.optim_wrapper,
                 optimizer=dict(cfg.optim_wrapper.optimizer, lr=args.lr)))
    base_lrs = [g['lr'] for g in ow.optimizer.param_groups]
    size = cfg.model.backbone.img_size
    pre = cfg.model.data_preprocessor
    xtr, ytr = load_images('train', 2000, size, 1, pre.mean, pre.std)
    xte, yte = load_images('test', 1000, size, 2, pre.mean, pre.std)

    def knn() -> float:
        ftr = extract_features(model.backbone, xtr, 'cls')
        fte = extract_features(model.backbone, xte, 'cls')
        acc = knn_top1(ftr, ytr, fte, yte, 10, 20, 0.07)
        model.train()
        return acc

    def window_mean(hist: list) -> dict:
        """Mean of each logged loss over the last 20 iterations."""
        return {
            k: round(float(np.mean([h[k] for h in hist[-20:]])), 3)
            for k in hist[-1]
        }

    res = dict(tag=args.tag, random=round(knn(), 2))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=args.batch, shuffle=True, drop_last=True,
        num_workers=1, collate_fn=default_collate, persistent_workers=True,
        generator=torch.Generator().manual_seed(args.seed))
    warmup = max(1, args.iters // 10)
    it, t0, hist = 0, time.time(), []
    model.train()
    while it < args.iters:
        for batch in loader:
            if it >= args.iters:
                break
            hub.update_info('iter', it)
            if it < warmup:
                lr = args.lr * (it + 1) / warmup
            else:
                lr = cosine_decay(it - warmup, args.iters - warmup,
                                  base=args.lr, end=0.0)
            for g, b in zip(ow.optimizer.param_groups, base_lrs):
                g['lr'] = b * lr / args.lr
            log = model.train_step(batch, ow)
            hist.append({k: float(v.detach()) for k, v in log.items()})
            it += 1
            if it % 20 == 0:
                extra = ''
                if hasattr(model, 'instance_head'):
                    q = model.instance_head.queue.queue
                    extra = f' qmean={q.mean(0).norm():.3f}'
                if args.eval_every and it % args.eval_every == 0:
                    extra += f' knn={knn():.2f}'
                print(it, round(time.time() - t0), window_mean(hist), extra,
                      flush=True)
    res['learned'] = round(knn(), 2)
    res['final_losses'] = window_mean(hist)
    res['secs'] = round(time.time() - t0)
    print('RESULT', json.dumps(res), flush=True)
    return res


if __name__ == '__main__':
    main()
