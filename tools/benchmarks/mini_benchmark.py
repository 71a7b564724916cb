"""CPU mini benchmark: does the pretraining LEARN, image level and dense?

    python tools/benchmarks/mini_benchmark.py
        [--methods mocov3 mgc mugs] [--work-dir work_dirs/mini_benchmark]
        [--epochs N] [--threads 1] [--skip-existing] [--eval-only]
        [--no-random] [--md OUT.md] [--png OUT.png]

For every method, the config ``configs/benchmarks/mini/<method>_*.py`` is
pretrained (``tools/train.py`` in a subprocess, log in
``<work-dir>/<method>/train.log``) on unlabeled Fashion-MNIST scenes, and
the frozen backbone of its last checkpoint is evaluated:

- image level, on labeled single-item images (5,000 train items drawn from
  Fashion-MNIST train, 2,000 test items from Fashion-MNIST test): weighted
  kNN top-1 (k=20, T=0.07, cosine) and a linear probe (standardised
  features, AdamW, learning rate chosen on a 20 % validation split of the
  train items, then refitted on all of them);
- dense level, on held-out scenes with per-pixel class maps (1,000 probe
  scenes from Fashion-MNIST train items with another seed than the
  pretraining scenes, 500 test scenes from Fashion-MNIST test items): a
  per-patch linear segmentation probe on the patch tokens, logits upsampled
  bilinearly to pixels, mIoU over 11 classes (background + 10).

"random init" rows evaluate each distinct backbone of the methods at
initialisation (seed 0), the floor every method must beat.

All methods share one budget (the configs' "shared budget" block, checked
here): the same tiny ViT architecture, data, batch and number of
iterations. ``--epochs`` trains a longer (or shorter) run: every
epoch-based scheduler end / T_max that equals the configs' max_epochs is
moved along. Results go to ``<work-dir>/results/<row>.json`` (rows of
earlier runs are kept, so methods can be run one at a time) and a markdown
table + PNG plot are written from all rows.
"""
import argparse
import copy
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmmgc.evaluation.linear_probe import PROBE_LRS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CONFIGS = {
    'mocov3': 'configs/benchmarks/mini/mocov3_vit-tiny-p8_mini.py',
    'mgc': 'configs/benchmarks/mini/mgc_vit-tiny-p8_mini.py',
    'mugs': 'configs/benchmarks/mini/mugs_vit-tiny-p8_mini.py',
}
NAMES = {'mocov3': 'MoCo v3', 'mgc': 'MGC', 'mugs': 'Mugs'}
#: Data of the evaluation (sizes and generation seeds; the pretraining
#: scenes use Fashion-MNIST train items with seed 0).
EVAL_DATA = dict(
    items_train=(5000, 'train', 1),
    items_test=(2000, 'test', 2),
    scenes_train=(1000, 'train', 100),
    scenes_test=(500, 'test', 101),
)
#: ``--quick``: a smoke run of the whole pipeline (numbers meaningless).
QUICK_EVAL_DATA = dict(
    items_train=(500, 'train', 1),
    items_test=(200, 'test', 2),
    scenes_train=(100, 'train', 100),
    scenes_test=(50, 'test', 101),
)


# ------------------------------------------------------------ budget checks
def budget_of(cfg) -> Dict[str, object]:
    """The parts of a config that the shared budget fixes."""
    ds = cfg.train_dataloader.dataset
    bb = cfg.model.backbone
    return dict(
        arch=dict(bb.arch) if isinstance(bb.arch, dict) else bb.arch,
        img_size=bb.get('img_size'),
        patch_size=bb.get('patch_size'),
        dataset=ds.type,
        num_samples=ds.num_samples,
        data_seed=ds.seed,
        data_img_size=ds.get('img_size'),
        batch_size=cfg.train_dataloader.batch_size,
        max_epochs=cfg.train_cfg.max_epochs,
        seed=cfg.randomness.seed,
        colour_jitter=cfg.get('jitter'),
        grayscale=cfg.get('grayscale'),
    )


def check_same_budget(budgets: Dict[str, Dict[str, object]],
                      ignore: Sequence[str] = ()) -> None:
    """Raise ``ValueError`` naming the first field (not in ``ignore``)
    where two methods' budgets differ."""
    items = list(budgets.items())
    for name, b in items[1:]:
        for key, ref in items[0][1].items():
            if key in ignore:
                continue
            if b.get(key) != ref:
                raise ValueError(
                    f'budget mismatch: {key} is {b.get(key)!r} for {name} '
                    f'but {ref!r} for {items[0][0]}: the mini configs must '
                    'share one budget')


def rescale_epochs(cfg, epochs: int):
    """A copy of ``cfg`` trained for ``epochs`` epochs: ``max_epochs``,
    the checkpoint interval and every epoch-based scheduler ``end`` (and
    ``T_max = end - begin``) that ended at the old ``max_epochs``."""
    if epochs < 1:
        raise ValueError(f'epochs must be >= 1, got {epochs}')
    cfg = copy.deepcopy(cfg)
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    if 'max_epochs' in cfg:
        cfg.max_epochs = epochs
    ckpt = cfg.default_hooks.get('checkpoint')
    if ckpt is not None:
        ckpt.interval = epochs
    for sch in cfg.param_scheduler:
        if sch.get('by_epoch', True) and sch.get('end') == old:
            if epochs <= sch.get('begin', 0):
                raise ValueError(
                    f'epochs={epochs} leaves no room for the scheduler '
                    f"{sch.type} that begins at epoch {sch.get('begin', 0)}")
            sch.end = epochs
            if 'T_max' in sch:
                sch.T_max = epochs - sch.get('begin', 0)
    return cfg


# ------------------------------------------------------------------- data
def make_eval_data(
    size: int = 64,
    sizes: Optional[Dict[str, Tuple[int, str, int]]] = None,
    dataset: str = 'FashionMNISTScenes'
) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """uint8 BGR images and labels / class maps of the evaluation, made by
    the generators of the pretraining ``dataset`` (see
    :data:`mmmgc.evaluation.EVAL_GENERATORS`)."""
    import mmmgc.datasets as mds
    from mmmgc.evaluation import eval_generator
    make_items = eval_generator(dataset, 'items')
    make_scenes = eval_generator(dataset, 'scenes')
    sizes = sizes or EVAL_DATA
    src = {s: mds.load_fashion_mnist(split=s) for s in ('train', 'test')}
    out = {}
    for key, (num, split, seed) in sizes.items():
        fn = make_items if key.startswith('items') else make_scenes
        out[key] = fn(*src[split], num, canvas=size, seed=seed)
    return out


# ------------------------------------------------------------- evaluation
def select_lr(feats: torch.Tensor,
              labels: torch.Tensor,
              num_classes: int,
              lrs: Sequence[float] = PROBE_LRS,
              epochs: int = 100,
              seed: int = 0) -> float:
    """:func:`mmmgc.evaluation.select_probe_lr` (the demo report uses it
    too)."""
    from mmmgc.evaluation import select_probe_lr
    return select_probe_lr(feats, labels, num_classes, lrs, epochs, seed)


def evaluate_backbone(backbone: torch.nn.Module,
                      data: Dict[str, Tuple[np.ndarray, np.ndarray]],
                      mean: Sequence[float],
                      std: Sequence[float],
                      feature: str,
                      patch_size: int,
                      probe_epochs: int = 100,
                      dense_epochs: int = 10,
                      seed: int = 0) -> Dict[str, object]:
    """Image-level kNN + linear probe and dense mIoU of a frozen backbone
    (see the module docstring). Returns a JSON-able dict."""
    from mmmgc.evaluation import (dense_linear_probe, extract_features,
                                  extract_patch_features, knn_top1,
                                  linear_probe_top1, to_input)
    t0 = time.time()
    torch.manual_seed(seed)
    xtr = to_input(data['items_train'][0], mean, std)
    ytr = torch.from_numpy(np.asarray(data['items_train'][1])).long()
    xte = to_input(data['items_test'][0], mean, std)
    yte = torch.from_numpy(np.asarray(data['items_test'][1])).long()
    res: Dict[str, object] = dict(feature=feature)
    for f in ('cls', 'avg'):
        ftr = extract_features(backbone, xtr, f)
        fte = extract_features(backbone, xte, f)
        k = min(20, ftr.shape[0])
        res[f'knn_{f}'] = knn_top1(
            ftr, ytr, fte, yte, num_classes=10, k=k, temperature=0.07)
        lr = select_lr(ftr, ytr, 10, epochs=probe_epochs, seed=seed)
        res[f'linear_lr_{f}'] = lr
        res[f'linear_{f}'] = linear_probe_top1(
            ftr, ytr, fte, yte, 10, epochs=probe_epochs, lr=lr, seed=seed)
    res['knn'] = res[f'knn_{feature}']
    res['linear'] = res[f'linear_{feature}']
    # dense level
    s_tr = to_input(data['scenes_train'][0], mean, std)
    s_te = to_input(data['scenes_test'][0], mean, std)
    p_tr = extract_patch_features(backbone, s_tr)
    p_te = extract_patch_features(backbone, s_te)
    if p_tr.shape[-1] * patch_size != s_tr.shape[-1]:
        raise ValueError(f'{p_tr.shape[-1]} patches x patch {patch_size} do '
                         f'not tile {s_tr.shape[-1]} px')
    seg_tr = torch.from_numpy(np.asarray(data['scenes_train'][1])).long()
    seg_te = torch.from_numpy(np.asarray(data['scenes_test'][1])).long()
    dense = dense_linear_probe(
        p_tr,
        seg_tr,
        p_te,
        seg_te,
        11,
        epochs=dense_epochs,
        lr=1e-2,
        seed=seed)
    res['dense_miou'] = dense['mIoU']
    res['dense_aacc'] = dense['aAcc']
    res['dense_fg_iou'] = dense['fgIoU']
    res['dense_iou'] = [
        None if np.isnan(v) else round(float(v) * 100, 2)
        for v in dense['IoU'].tolist()
    ]
    res['eval_seconds'] = round(time.time() - t0, 1)
    return res


# ------------------------------------------------------------- pretraining
def pretrain(method: str, cfg, work_dir: str,
             threads: int) -> Tuple[str, float]:
    """Train ``cfg`` with tools/train.py in a subprocess; returns the last
    checkpoint and the wall time in seconds."""
    os.makedirs(work_dir, exist_ok=True)
    cfg_path = osp.join(work_dir, f'{method}_config.py')
    cfg.dump(cfg_path)
    log = osp.join(work_dir, 'train.log')
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), cfg_path, '--work-dir', work_dir
    ]
    print(f'[{method}] pretraining: {" ".join(cmd)} (log: {log})', flush=True)
    t0 = time.time()
    with open(log, 'w') as f:
        rc = subprocess.call(
            cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    wall = time.time() - t0
    if rc != 0:
        raise RuntimeError(f'[{method}] pretraining failed (exit {rc}); '
                           f'see {log}')
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'[{method}] no checkpoint {ckpt}')
    return ckpt, wall


def with_seeds(cfgs: Dict[str, object], paths: Dict[str, str],
               names: Dict[str, str], seeds: Sequence[int]):
    """Every config once per training seed: keys ``KEY_seedS``, configs
    with ``randomness.seed = S`` (the budget is otherwise the same)."""
    out_cfgs, out_paths, out_names = {}, {}, dict(names)
    for m, cfg in cfgs.items():
        for seed in seeds:
            key = f'{m}_seed{seed}'
            c = copy.deepcopy(cfg)
            c.randomness = dict(c.get('randomness', {}), seed=int(seed))
            out_cfgs[key], out_paths[key] = c, paths[m]
            out_names[key] = f'{names.get(m, m)} (seed {seed})'
    return out_cfgs, out_paths, out_names


#: Numbers of a row summarised over seeds, and their table headers.
SEED_METRICS = (('knn', 'kNN top-1'), ('linear', 'linear top-1'),
                ('dense_miou', 'dense mIoU'), ('dense_fg_iou',
                                               'dense object IoU'))


def seed_summary_table(rows: Sequence[Dict[str, object]]) -> str:
    """Mean +- sample std over the seeds of each row group (rows keyed
    ``KEY_seedS``; other rows are shown as they are, n = 1), with each
    row's own feature."""
    from mmmgc.evaluation import mean_std
    groups: Dict[str, List[Dict[str, object]]] = {}
    for r in rows:
        base = re.sub(r'_seed\d+$', '', str(r['key']))
        groups.setdefault(base, []).append(r)
    lines = [
        '| method | seeds | ' + ' | '.join(h for _, h in SEED_METRICS) + ' |',
        '|---|---|' + '---|' * len(SEED_METRICS)
    ]
    for base, rs in groups.items():
        name = re.sub(r' \(seed \d+\)$', '', str(rs[0]['row']))
        cells = []
        for metric, _ in SEED_METRICS:
            m, sd = mean_std([float(r.get(metric, float('nan'))) for r in rs])
            cells.append(f'{m:.2f} +- {sd:.2f}' if len(rs) > 1 else f'{m:.2f}')
        lines.append(f'| {name} | {len(rs)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------- report
def load_rows(results_dir: str) -> List[Dict[str, object]]:
    rows = []
    if osp.isdir(results_dir):
        for name in sorted(os.listdir(results_dir)):
            if name.endswith('.json'):
                with open(osp.join(results_dir, name)) as f:
                    rows.append(json.load(f))
    rows.sort(key=lambda r: (r.get('order', 99), r['row']))
    return rows


def markdown_table(rows: Sequence[Dict[str, object]]) -> str:
    """The results table (one line per row); ``*`` marks the feature of
    the method (the one in the plot)."""
    lines = [
        '| method | backbone | pretrain iters | pretrain wall | '
        'kNN top-1 cls | kNN top-1 avg | linear top-1 cls | '
        'linear top-1 avg | dense mIoU | dense object IoU | '
        'dense pixel acc |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        wall = r.get('pretrain_seconds')
        wall = f'{wall / 60:.1f} min' if wall else '-'
        cells = []
        for m in ('knn', 'linear'):
            for f in ('cls', 'avg'):
                star = '*' if f == r['feature'] else ''
                cells.append(f"{r[f'{m}_{f}']:.2f}{star}")
        lines.append(
            f"| {r['row']} | {r['backbone']} | {r.get('iters') or 0} | "
            f"{wall} | {' | '.join(cells)} | {r['dense_miou']:.2f} | "
            f"{r.get('dense_fg_iou', float('nan')):.2f} | "
            f"{r['dense_aacc']:.2f} |")
    return '\n'.join(lines) + '\n'


def plot_rows(rows: Sequence[Dict[str, object]],
              out: str,
              width_px: int = 900,
              height_px: int = 380) -> str:
    """Grouped bars (kNN, linear, dense mIoU) per row; a PNG of exactly
    ``width_px x height_px``."""
    from mmmgc.utils import new_figure, save_png
    metrics = [('knn', 'kNN top-1 (%)'), ('linear', 'linear top-1 (%)'),
               ('dense_miou', 'dense mIoU (%)'),
               ('dense_fg_iou', 'dense object IoU (%)')]
    fig = new_figure(width_px, height_px)
    n = len(rows)
    width = 0.8 / max(n, 1)
    ax = fig.add_axes([0.07, 0.12, 0.68, 0.78])
    for i, r in enumerate(rows):
        xs = np.arange(len(metrics)) + (i - (n - 1) / 2) * width
        vals = [r.get(m, float('nan')) for m, _ in metrics]
        bars = ax.bar(xs, vals, width, label=r['row'])
        for b, v in zip(bars, vals):
            ax.text(
                b.get_x() + b.get_width() / 2,
                v + 0.5,
                f'{v:.1f}',
                ha='center',
                va='bottom',
                fontsize=6)
    ax.set_xticks(np.arange(len(metrics)))
    ax.set_xticklabels([label for _, label in metrics], fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_ylabel('%', fontsize=8)
    ax.grid(axis='y', alpha=0.3)
    iters = max([r.get('iters') or 0 for r in rows] + [0])
    ax.set_title(
        'CPU mini benchmark: frozen tiny ViT after '
        f'{iters} pretraining iterations',
        fontsize=9)
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0))
    return save_png(fig, out)


# ------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument(
        '--methods', nargs='*', default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument(
        '--variant',
        nargs='*',
        default=[],
        metavar='KEY=CONFIG',
        help='extra configs (e.g. MGC ablations) trained and '
        'evaluated as rows KEY; they must share the budget')
    p.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=None,
        help='training seeds: every method (and variant) is trained once '
        'per seed (randomness.seed), as rows KEY_seedS, and '
        'results_seeds.md gives mean +- std over the seeds')
    p.add_argument('--work-dir', default='work_dirs/mini_benchmark')
    p.add_argument(
        '--epochs',
        type=int,
        default=None,
        help="override the configs' shared max_epochs")
    p.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads of training and evaluation (1 is '
        'fastest on a shared 2-core machine)')
    p.add_argument(
        '--skip-existing',
        action='store_true',
        help='reuse a finished checkpoint of a method')
    p.add_argument(
        '--eval-only',
        action='store_true',
        help='evaluate existing checkpoints, never train')
    p.add_argument(
        '--no-random', action='store_true', help='skip the random-init rows')
    p.add_argument(
        '--quick',
        action='store_true',
        help='smoke run: 10x smaller evaluation sets')
    p.add_argument('--md', default=None, help='also copy the table here')
    p.add_argument('--png', default=None, help='also copy the plot here')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from mmengine.config import Config

    from mmmgc.evaluation import (auto_feature, build_frozen_backbone,
                                  load_pretrained_backbone, norm_stats)
    t_start = time.time()
    paths = {m: CONFIGS[m] for m in args.methods}
    names = dict(NAMES)
    for spec in args.variant:
        key, sep, path = spec.partition('=')
        if not sep or not key or key in paths:
            raise ValueError(f'--variant wants a new KEY=CONFIG, got {spec!r}')
        paths[key] = path
        names[key] = key
    cfgs = {m: Config.fromfile(osp.join(REPO, p)) for m, p in paths.items()}
    check_same_budget({m: budget_of(c) for m, c in cfgs.items()})
    if args.epochs is not None:
        cfgs = {m: rescale_epochs(c, args.epochs) for m, c in cfgs.items()}
    if args.seeds:
        cfgs, paths, names = with_seeds(cfgs, paths, names, args.seeds)
    ref = next(iter(cfgs.values()))
    size = ref.model.backbone.img_size
    patch = ref.model.backbone.patch_size
    iters = (
        ref.train_cfg.max_epochs * ref.train_dataloader.dataset.num_samples //
        ref.train_dataloader.batch_size)
    results_dir = osp.join(args.work_dir, 'results')
    os.makedirs(results_dir, exist_ok=True)
    sizes = QUICK_EVAL_DATA if args.quick else EVAL_DATA
    print(f'evaluation data: {sizes}', flush=True)
    dataset = ref.train_dataloader.dataset.type
    print(f'evaluation data of {dataset}', flush=True)
    data = make_eval_data(size, sizes, dataset)

    def save(row: Dict[str, object]) -> None:
        path = osp.join(results_dir, row['key'] + '.json')
        with open(path, 'w') as f:
            json.dump(row, f, indent=1)
        print(
            f"[{row['row']}] kNN {row['knn']:.2f}  linear "
            f"{row['linear']:.2f}  mIoU {row['dense_miou']:.2f}  "
            f"(eval {row['eval_seconds']} s) -> {path}",
            flush=True)

    if not args.no_random:
        seen = set()
        for m, cfg in cfgs.items():
            btype = cfg.model.backbone.type
            if btype in seen:
                continue
            seen.add(btype)
            torch.manual_seed(0)
            backbone = build_frozen_backbone(cfg.model)
            mean, std = norm_stats(cfg)
            # an untrained class token carries nothing: the mean patch
            # token is the natural feature of a random backbone
            res = evaluate_backbone(backbone, data, mean, std, 'avg', patch)
            save(
                dict(
                    res,
                    key=f'random_{btype}',
                    row=f'random init ({btype})',
                    backbone=btype,
                    order=0,
                    iters=0,
                    config=paths[m]))
    for order, (m, cfg) in enumerate(cfgs.items(), 1):
        wd = osp.join(args.work_dir, m)
        ckpt = osp.join(wd, f'epoch_{cfg.train_cfg.max_epochs}.pth')
        wall = None
        meta_path = osp.join(wd, 'pretrain.json')
        if args.eval_only or (args.skip_existing and osp.isfile(ckpt)):
            if not osp.isfile(ckpt):
                raise FileNotFoundError(f'--eval-only: no {ckpt}')
            if osp.isfile(meta_path):
                with open(meta_path) as f:
                    wall = json.load(f).get('pretrain_seconds')
        else:
            ckpt, wall = pretrain(m, cfg, wd, args.threads)
            with open(meta_path, 'w') as f:
                json.dump(
                    dict(pretrain_seconds=round(wall, 1), checkpoint=ckpt), f)
        torch.manual_seed(0)
        backbone = build_frozen_backbone(cfg.model)
        load_pretrained_backbone(backbone, ckpt)
        mean, std = norm_stats(cfg)
        res = evaluate_backbone(backbone, data, mean, std, auto_feature(cfg),
                                patch)
        save(
            dict(
                res,
                key=m,
                row=names[m],
                backbone=cfg.model.backbone.type,
                order=order,
                iters=iters,
                config=paths[m],
                checkpoint=ckpt,
                pretrain_seconds=round(wall, 1) if wall else None))
    rows = load_rows(results_dir)
    table = markdown_table(rows)
    md = osp.join(args.work_dir, 'results.md')
    with open(md, 'w') as f:
        f.write(table)
    if args.seeds:
        seeds_table = seed_summary_table(rows)
        with open(osp.join(args.work_dir, 'results_seeds.md'), 'w') as f:
            f.write(seeds_table)
        print(seeds_table)
    png = plot_rows(rows, osp.join(args.work_dir, 'results.png'))
    for src, dst in ((md, args.md), (png, args.png)):
        if dst:
            os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
            with open(src, 'rb') as fi, open(dst, 'wb') as fo:
                fo.write(fi.read())
    print(table)
    print(f'wrote {md} and {png}; total wall time '
          f'{(time.time() - t_start) / 60:.1f} min')
    return rows


if __name__ == '__main__':
    main()
