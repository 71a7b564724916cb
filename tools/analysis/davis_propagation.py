"""DAVIS-2017 video object segmentation by label propagation of frozen ViT
features (Mugs Table 7, DINO's protocol), and its J&F score.

    python tools/analysis/davis_propagation.py CONFIG [--checkpoint CKPT]
        [--output-dir DIR] [--out FILE.json] [--cfg-options k=v ...]

Reads ``<data_root>/JPEGImages/<resolution>/<seq>/*.jpg`` and
``<data_root>/Annotations/<resolution>/<seq>/*.png`` (palette PNGs) for the
sequences of ``<data_root>/<image_set>``. The first-frame mask is propagated
(:mod:`mmmgc.evaluation.label_propagation`); predictions are written as
palette PNGs under ``output_dir/<seq>/`` and scored with
:mod:`mmmgc.evaluation.davis_metrics` against every annotated frame. The
backbone (``model``) loads its checkpoint STRICTLY. Single process. The
protocol is :mod:`mmmgc.evaluation.davis_propagation`.
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
        help='overrides model.init_cfg.checkpoint')
    p.add_argument(
        '--output-dir',
        default=None,
        help='overrides output_dir (predicted PNGs)')
    p.add_argument('--out', default=None, help='write metrics as JSON')
    p.add_argument(
        '--device',
        default=None,
        help="defaults to 'cuda' when available, else 'cpu'")
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
    from mmmgc.evaluation import davis_from_config
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.output_dir:
        cfg.output_dir = args.output_dir
    res = davis_from_config(cfg, args.checkpoint, args.device)
    print(
        json.dumps({
            k: v
            for k, v in res.items() if k != 'per_sequence'
        },
                   indent=1))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
