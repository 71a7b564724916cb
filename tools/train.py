# Copyright (c) mmmgc contributors. Follows mmpretrain's tools/train.py.
"""Train a model (pretraining or downstream classification) with mmengine.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--trust-checkpoint] [--progress]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Without a GPU, distributed runs use the gloo backend and ``--amp`` uses
bfloat16 autocast on the CPU (fp16 with a loss scaler on GPU).

Checkpoints (``--resume``, ``load_from``, ``init_cfg=Pretrained``) are read
by :func:`mmmgc.checkpoint.load_checkpoint_file`, which never runs code from
a file: a pickle that needs a type outside its allow-list is refused unless
``--trust-checkpoint`` (or ``MMMGC_TRUST_CHECKPOINT=1``) is given.

``--progress`` (what ``tools/run_demo.sh`` uses) keeps the console short:
about ten progress lines (iteration, loss, elapsed time, ETA) and warnings;
the environment, the config, the initialisation report, the logger hook's
lines and Python warnings go to the log file
``WORK_DIR/<timestamp>/<timestamp>.log`` only
(:class:`mmmgc.engine.ProgressRunner`). Training is the same.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training (fp16 on GPU, '
        'bf16 on CPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='whether not to evaluate the checkpoint during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='whether to auto scale the learning rate according to the '
        'actual batch size and the original batch size.')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='whether to disable the persistent_workers option in '
        'dataloaders.')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load checkpoints (--resume, load_from, init_cfg) even when '
        'their pickle needs types outside mmmgc\'s allow-list: this runs '
        'code from the file, so only for files you checked (same as '
        'MMMGC_TRUST_CHECKPOINT=1)')
    parser.add_argument(
        '--progress',
        action='store_true',
        help='console: a few progress lines and warnings only; the log file '
        'WORK_DIR/<timestamp>/<timestamp>.log keeps everything (training '
        'is unchanged)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # When using PyTorch version >= 2.0.0, the `torch.distributed.launch`
    # will pass the `--local-rank` parameter to `tools/train.py` instead
    # of `--local_rank`.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge CLI arguments to config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > name
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if not torch.cuda.is_available():
        # No GPU: gloo instead of nccl for distributed runs on CPU.
        env_cfg = cfg.setdefault('env_cfg', ConfigDict())
        dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
        dist_cfg['backend'] = 'gloo'

    if args.amp:
        from mmmgc.engine import set_amp
        set_amp(cfg)

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    def set_default_dataloader_cfg(cfg, field):
        if cfg.get(field, None) is None:
            return
        dataloader_cfg = cfg[field]
        dataloader_cfg.setdefault('pin_memory', True)
        dataloader_cfg.setdefault('persistent_workers', True)
        if args.no_pin_memory:
            dataloader_cfg['pin_memory'] = False
        if args.no_persistent_workers:
            dataloader_cfg['persistent_workers'] = False
        if dataloader_cfg.get('num_workers', 0) == 0:
            dataloader_cfg['persistent_workers'] = False

    set_default_dataloader_cfg(cfg, 'train_dataloader')
    set_default_dataloader_cfg(cfg, 'val_dataloader')
    set_default_dataloader_cfg(cfg, 'test_dataloader')

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # resume training
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    return cfg


def main():
    args = parse_args()
    if args.trust_checkpoint:  # also reaches launched worker processes
        os.environ['MMMGC_TRUST_CHECKPOINT'] = '1'
    import mmmgc  # noqa: F401  (registers modules, applies shims)

    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    from mmmgc.utils import check_pretrain_config
    check_pretrain_config(cfg)  # pipeline vs model, before building
    if args.launcher != 'none' and not torch.cuda.is_available():
        # mmengine's init_dist calls torch.cuda.set_device, which a CPU-only
        # torch lacks, and DDP rejects device_ids for CPU modules: start the
        # gloo process group here and wrap with device_ids=None.
        from mmmgc.utils import cpu_ddp_wrapper_cfg, init_cpu_distributed
        cpu_ddp_wrapper_cfg(cfg)
        init_cpu_distributed(
            args.launcher,
            timeout_s=cfg.env_cfg.get('dist_cfg', {}).get('timeout'))
    if args.progress:
        from mmmgc.engine import ProgressRunner
        runner = ProgressRunner.from_cfg(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    from mmmgc.utils import shutdown_distributed
    shutdown_distributed()


if __name__ == '__main__':
    main()
