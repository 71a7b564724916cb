"""The demo's result: kNN and linear-probe top-1 of a pretrained backbone
next to the same backbone at random initialisation, as one compact table,
plus the learned backbone's attention picture.

    python tools/analysis/demo_report.py CONFIG CHECKPOINT
        [--work-dir DIR] [--num-train 5000] [--num-test 2000] [--seed 0]
        [--no-picture] [--demo-start T] [--pretrain-start T]
        [--pretrain-end T] [--trust-checkpoint]

CONFIG is the pretraining config the run used (``tools/run_demo.sh``
passes the copy that ``tools/train.py`` wrote into the work dir, so that
``--cfg-options`` are included). The evaluation is
:func:`mmmgc.evaluation.demo_report` (the CPU mini benchmark's image-level
protocol, ``docs/benchmarks.md`` section 1). Written into ``--work-dir``
(default: the checkpoint's folder): ``demo_report.json`` (the numbers and
wall times) and ``attention.png`` (the picture). The table is printed last,
then the two paths.

Wall times: ``--pretrain-start`` / ``--pretrain-end`` (epoch seconds, as
``$EPOCHREALTIME``) give the pretraining time, ``--demo-start`` the start
of the whole demo for the total; the evaluation is timed here.
"""
import argparse
import json
import logging
import os
import os.path as osp
import time


def _seconds(text: str) -> float:
    """Epoch seconds; a decimal comma (``$EPOCHREALTIME`` in some locales)
    is read as a point."""
    return float(text.replace(',', '.'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument(
        '--work-dir', default=None, help="default: the checkpoint's folder")
    p.add_argument('--num-train', type=int, default=5000)
    p.add_argument('--num-test', type=int, default=2000)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-picture', action='store_true')
    p.add_argument(
        '--demo-start',
        type=_seconds,
        default=None,
        help='epoch seconds at the start of the demo')
    p.add_argument(
        '--pretrain-start',
        type=_seconds,
        default=None,
        help='epoch seconds at the start of pretraining')
    p.add_argument(
        '--pretrain-end',
        type=_seconds,
        default=None,
        help='epoch seconds at the end of pretraining')
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads (default: torch\'s)')
    p.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load a checkpoint whose pickle needs types '
        'outside the allow-list (runs code from the file: '
        'only for a file you checked)')
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    t0 = time.time()
    import torch
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    import mmmgc  # noqa: F401  (registers modules)
    from mmmgc.engine import quiet_console
    from mmmgc.evaluation import demo_report, format_report

    # building a backbone logs mmengine's per-parameter initialisation
    # report at INFO: not on the console
    quiet_console(MMLogger.get_current_instance(), logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.trust_checkpoint:
        from mmmgc.checkpoint import set_trust_checkpoints
        set_trust_checkpoints(True)
    work_dir = args.work_dir or osp.dirname(osp.abspath(args.checkpoint))
    os.makedirs(work_dir, exist_ok=True)
    picture = None if args.no_picture else osp.join(work_dir, 'attention.png')
    cfg = Config.fromfile(args.config)
    report = demo_report(
        cfg,
        args.checkpoint,
        num_train=args.num_train,
        num_test=args.num_test,
        seed=args.seed,
        picture=picture)
    pretrain = (
        args.pretrain_end -
        args.pretrain_start if args.pretrain_start is not None
        and args.pretrain_end is not None else None)
    end = time.time()
    report['seconds'] = dict(
        pretraining=None if pretrain is None else round(pretrain, 1),
        evaluation=round(end - t0, 1),
        total=None if args.demo_start is None else round(
            end - args.demo_start, 1))
    out = osp.join(work_dir, 'demo_report.json')
    with open(out, 'w') as f:
        json.dump(report, f, indent=1)
    print(format_report(report))
    if report['picture']:
        print(f"picture: {report['picture']['path']} (attention maps and "
              f"patch matches of the learned backbone; "
              f"{report['picture']['match_accuracy']:.0f} % of the matches "
              'in the true footprint)')
    print(f'numbers: {out}')
    return report


if __name__ == '__main__':
    main()
