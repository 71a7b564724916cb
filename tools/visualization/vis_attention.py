"""Attention maps and patch matches of a pretrained ViT (MGC Fig. 6, Mugs
Figs. 1 and 5).

    python tools/visualization/vis_attention.py CONFIG [CHECKPOINT]
        --out OUT.png [--image-index 3] [--seed 0] [--panel-px 160]

Row 1: the image and the last block's CLS self-attention of every head
(the attention of the class-token query over the patch tokens), computed
from the last block's ``qkv`` projection: a forward pre-hook captures the
input of the last attention layer, so mmpretrain is not patched.

Row 2: two views of the image (``MGCTwoViewCrop``) side by side and, for
every patch of view 1 that overlaps view 2, a line to its best-matching
patch of view 2 (highest cosine similarity of the frozen patch tokens).
Green: the match lies in the true footprint of the patch (non-zero
correspondence target at granularity 1); red: elsewhere. The title gives
the share of green matches. MGC does not train the class token, so for MGC
row 2 is the informative one. The figure is drawn by
:func:`mmmgc.evaluation.attention_figure.attention_picture`.
"""
import argparse
import os.path as osp
from typing import Optional

# the figure's maths and drawing live in the package (the demo report draws
# the same picture); re-exported here for scripts that use the tool module
from mmmgc.evaluation.attention_figure import (  # noqa: F401
    attention_figure_data, attention_picture, best_matches, cls_attention_maps,
    last_block_attention, match_accuracy, plot_attention)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='omit for a randomly initialised backbone')
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--image-index', type=int, default=3)
    p.add_argument(
        '--seed',
        type=int,
        default=0,
        help='crop seed (and init seed without checkpoint)')
    p.add_argument('--min-overlap', type=float, default=0.3)
    p.add_argument('--panel-px', type=int, default=160)
    p.add_argument('--title', default=None)
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
    from mmmgc.evaluation import backbone_from_config, eval_dataset_of
    vit, cfg = backbone_from_config(args.config, args.checkpoint, args.seed)
    title = args.title or '{} ({})'.format(
        osp.basename(args.config),
        osp.basename(args.checkpoint) if args.checkpoint else 'random init')
    out, acc = attention_picture(
        vit,
        cfg,
        args.out,
        title,
        image_index=args.image_index,
        seed=args.seed,
        min_overlap=args.min_overlap,
        panel_px=args.panel_px,
        dataset=eval_dataset_of(cfg))
    print(f'wrote {out}: {acc:.1f} % of the patch matches in '
          'the true footprint')
    return out


if __name__ == '__main__':
    main()
