"""t-SNE of frozen backbone features, coloured by label (Mugs Fig. 4).

    python tools/visualization/vis_tsne.py CONFIG [CHECKPOINT] --out OUT.png
        [--feature auto] [--num 1000] [--compare-random] [--seed 0]
        [--panel-px 400]

Features of ``--num`` labeled single-item Fashion-MNIST test images are
embedded in 2-D with ``sklearn.manifold.TSNE`` (mmpretrain's
``vis_tsne.py`` lives in its source repository, not in the installed
wheel, and runs a whole test loop; this tool needs only the backbone).
``--compare-random`` adds a panel with the same backbone at random
initialisation. ``--feature auto`` uses the mean patch token for MGC (its
class token is not trained) and the class token otherwise.
"""
import argparse
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmmgc.utils import new_figure, save_png


def tsne_embed(feats: np.ndarray,
               seed: int = 0,
               perplexity: float = 30.0) -> np.ndarray:
    """``(N, D)`` features -> ``(N, 2)`` t-SNE embedding (PCA init,
    perplexity clipped below ``N``)."""
    from sklearn.manifold import TSNE
    feats = np.asarray(feats, np.float32)
    if feats.ndim != 2 or feats.shape[0] < 3:
        raise ValueError('tsne_embed: need (N, D) features with N >= 3, got '
                         f'{feats.shape}')
    perplexity = min(perplexity, (feats.shape[0] - 1) / 3)
    return TSNE(
        n_components=2, perplexity=perplexity, init='pca',
        random_state=seed).fit_transform(feats)


def plot_tsne(panels: Sequence[Tuple[str, np.ndarray]],
              labels: np.ndarray,
              class_names: Sequence[str],
              out: str,
              panel_px: int = 400) -> str:
    """Scatter each ``(title, (N, 2) embedding)`` panel coloured by
    ``labels``; the figure is ``len(panels) * panel_px`` wide and
    ``panel_px`` high (the legend sits in the last panel)."""
    import matplotlib.pyplot as plt
    n = len(panels)
    fig = new_figure(n * panel_px, panel_px)
    cmap = plt.get_cmap('tab10')
    for k, (title, emb) in enumerate(panels):
        ax = fig.add_axes([(k + 0.03) / n, 0.03, 0.94 / n, 0.88])
        for c in range(len(class_names)):
            sel = labels == c
            if sel.any():
                ax.scatter(
                    emb[sel, 0],
                    emb[sel, 1],
                    s=3,
                    color=cmap(c % 10),
                    label=class_names[c])
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == n - 1:
            ax.legend(fontsize=5, markerscale=2, loc='best', framealpha=0.7)
    return save_png(fig, out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None)
    p.add_argument('--out', required=True)
    p.add_argument(
        '--feature', default='auto', choices=['auto', 'cls', 'avg', 'cls+avg'])
    p.add_argument('--num', type=int, default=1000)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--compare-random', action='store_true')
    p.add_argument('--panel-px', type=int, default=400)
    p.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load a checkpoint whose pickle needs types '
        'outside the allow-list (runs code from the file: '
        'only for a file you checked)')
    return p.parse_args(argv)


def main(argv=None) -> Optional[str]:
    args = parse_args(argv)
    if args.trust_checkpoint:
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    from mmmgc.datasets.fashion_mnist import FASHION_MNIST_CLASSES
    from mmmgc.evaluation import (auto_feature, backbone_from_config,
                                  demo_items, extract_features, norm_stats,
                                  to_input)
    runs: List[Tuple[str, Optional[str]]] = []
    if args.compare_random or not args.checkpoint:
        runs.append(('random init', None))
    if args.checkpoint:
        runs.append((osp.basename(args.checkpoint), args.checkpoint))
    panels = []
    labels = None
    for name, ckpt in runs:
        vit, cfg = backbone_from_config(args.config, ckpt, args.seed)
        feature = args.feature
        if feature == 'auto':
            feature = auto_feature(cfg)
        size = cfg.model.backbone.get('img_size', 64)
        imgs, labels = demo_items(args.num, size=size, seed=args.seed + 2)
        mean, std = norm_stats(cfg)
        feats = extract_features(vit, to_input(imgs, mean, std), feature)
        emb = tsne_embed(feats.numpy(), seed=args.seed)
        panels.append((f'{osp.basename(args.config)}: {name} '
                       f'({feature})', emb))
    out = plot_tsne(panels, np.asarray(labels), FASHION_MNIST_CLASSES,
                    args.out, args.panel_px)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    main()
