# Copyright (c) mmmgc contributors. Follows mmpretrain's tools/test.py.
"""Evaluate a checkpoint with a config's test loop.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import os.path as osp

import mmengine
import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--out', help='the file to output results.')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load checkpoints (--resume, load_from, init_cfg) even when '
        'their pickle needs types outside mmmgc\'s allow-list: this runs '
        'code from the file, so only for files you checked (same as '
        'MMMGC_TRUST_CHECKPOINT=1)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    if args.trust_checkpoint:  # also reaches launched worker processes
        os.environ['MMMGC_TRUST_CHECKPOINT'] = '1'
    import mmmgc  # noqa: F401

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', ConfigDict())
        env_cfg.setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg') or ConfigDict(type='TestLoop')
        cfg.test_cfg.fp16 = True
    cfg.load_from = args.checkpoint
    if args.launcher != 'none' and not torch.cuda.is_available():
        # mmengine's init_dist calls torch.cuda.set_device, which a CPU-only
        # torch lacks, and DDP rejects device_ids for CPU modules: start the
        # gloo process group here and wrap with device_ids=None.
        from mmmgc.utils import cpu_ddp_wrapper_cfg, init_cpu_distributed
        cpu_ddp_wrapper_cfg(cfg)
        init_cpu_distributed(
            args.launcher,
            timeout_s=cfg.env_cfg.get('dist_cfg', {}).get('timeout'))

    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out:
        mmengine.dump(metrics, args.out)
        print(f'metrics written to {args.out}')
    from mmmgc.utils import shutdown_distributed
    shutdown_distributed()


if __name__ == '__main__':
    main()
