# Copyright (c) mmmgc contributors.
"""Reproduce a paper's table: pretrain -> export -> check_transfer on every
downstream config -> each downstream run -> results.md / results.json.

    python tools/reproduce.py METHOD TABLE [--rows ROW ...]
        [--checkpoint CKPT [--format train|backbone|mgc|mugs|timm]
         | --pretrain-config CFG] [--work-dir DIR]
        [--launcher local|dist|slurm] [--gpus N] [--partition P]
        [--cfg-options k=v ...] [--row-options ROW k=v ...]
        [--pretrain-options k=v ...] [--dry-run] [--collect]
    python tools/reproduce.py METHOD --configs CFG [CFG ...] ...
    python tools/reproduce.py METHOD --list

TABLE names a table of ``configs/METHOD/benchmarks/tables.yml`` (rows,
downstream configs, metric keys and the papers' numbers with their
source); ``--configs`` runs an explicit list of downstream configs
instead. Without ``--checkpoint`` the table's pretraining config (or
``--pretrain-config``) is trained first. Every step writes into
``DIR/<step>/`` with its log; a re-run skips finished steps and resumes an
interrupted training step (``--resume``); a failed step stops the chain
with its name, log and error. ``--dry-run`` prints every command;
``--collect`` only writes the results table. The checks run
``tools/misc/check_transfer.py``'s ``main`` in this process (one log per
config); every other step is a subprocess.
"""
import argparse
import os.path as osp
import shlex
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Reproduce a paper table: pretrain, export, check, '
        'every downstream run, results table')
    p.add_argument('method', help='mgc, mugs, ... (configs/METHOD/)')
    p.add_argument(
        'table',
        nargs='?',
        default=None,
        help='table name in configs/METHOD/benchmarks/tables.yml')
    p.add_argument(
        '--tables',
        default=None,
        help='another tables file (default: the method\'s)')
    p.add_argument(
        '--rows',
        nargs='+',
        default=None,
        help='run only these rows of the table')
    p.add_argument(
        '--configs',
        nargs='+',
        default=None,
        help='explicit downstream configs instead of a table')
    p.add_argument(
        '--list',
        action='store_true',
        help='list the tables and rows and exit')
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        '--checkpoint',
        default=None,
        help='pretrained checkpoint: skip the pretraining')
    src.add_argument(
        '--pretrain-config',
        default=None,
        help='pretraining config (default: the table\'s)')
    p.add_argument(
        '--format',
        default='train',
        choices=['train', 'backbone', 'mgc', 'mugs', 'timm'],
        help='of --checkpoint: train (an mmengine training '
        'checkpoint: extract_backbone.py), backbone (already '
        'exported), mgc / mugs / timm (authors\' releases: '
        'convert_official.py)')
    p.add_argument(
        '--branch', default=None, help='convert_official.py --branch')
    p.add_argument(
        '--export-source',
        choices=['online', 'momentum'],
        default=None,
        help='extract_backbone.py --source (default: the '
        'table\'s)')
    p.add_argument(
        '--work-dir',
        default=None,
        help='default: work_dirs/reproduce/METHOD_TABLE')
    p.add_argument(
        '--launcher', choices=['local', 'dist', 'slurm'], default='local')
    p.add_argument(
        '--gpus',
        type=int,
        default=None,
        help='GPUs of every training / test (dist, slurm); '
        'default: each step\'s from the table (the paper\'s)')
    p.add_argument('--gpus-per-node', type=int, default=8)
    p.add_argument('--partition', default=None, help='SLURM partition')
    p.add_argument(
        '--job-prefix', default='reproduce', help='SLURM job-name prefix')
    p.add_argument(
        '--pretrain-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='--cfg-options of the pretraining')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='--cfg-options of every downstream step')
    p.add_argument(
        '--row-options',
        nargs='+',
        action='append',
        metavar='ROW KEY=VALUE',
        help='--cfg-options of one row\'s steps (repeatable)')
    p.add_argument(
        '--train-args',
        default='',
        help='extra tools/train.py arguments, e.g. '
        '"--amp --auto-scale-lr"')
    p.add_argument(
        '--dry-run',
        action='store_true',
        help='print every command, run nothing')
    p.add_argument(
        '--collect',
        action='store_true',
        help='only write results.md / results.json')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmmgc.reproduce import (Chain, Launcher, StepFailed, TableError,
                                 get_table, load_tables, split_row_options,
                                 table_from_configs, tables_file,
                                 write_results)
    from mmmgc.reproduce.results import to_markdown

    # paths given on the command line are relative to the current directory;
    # the tables' paths are relative to the repository root
    def here(path):
        return osp.abspath(path) if path and osp.exists(path) else path

    args.pretrain_config = here(args.pretrain_config)
    args.configs = [here(c) for c in args.configs or []]
    try:
        if args.list:
            path = args.tables or tables_file(args.method, REPO_ROOT)
            for name, t in load_tables(path).items():
                print(f'{name}: {t.description} (pretrain: {t.pretrain})')
                for r in t.rows:
                    print(f'  {r.name}: {r.task} {r.config} [{r.source}]')
            return 0
        if args.configs:
            if args.table:
                raise TableError('give a table or --configs, not both')
            table = table_from_configs(
                args.method,
                args.configs,
                export_source=args.export_source or 'online')
        elif args.table:
            table = get_table(args.method, args.table, REPO_ROOT, args.tables)
        else:
            raise TableError('give a table name (see --list) or --configs')
        table = table.select(args.rows)
        launcher = Launcher(
            args.launcher,
            gpus=args.gpus,
            partition=args.partition,
            gpus_per_node=args.gpus_per_node,
            job_prefix=args.job_prefix)
        work_dir = args.work_dir or osp.join('work_dirs', 'reproduce',
                                             f'{args.method}_{table.name}')
        chain = Chain(
            table,
            work_dir,
            launcher,
            REPO_ROOT,
            checkpoint=args.checkpoint,
            checkpoint_format=args.format,
            branch=args.branch,
            pretrain_config=args.pretrain_config,
            pretrain_options=args.pretrain_options,
            cfg_options=args.cfg_options,
            row_options=split_row_options(args.row_options),
            train_args=shlex.split(args.train_args),
            export_source=args.export_source)
    except (TableError, ValueError, FileNotFoundError) as err:
        print(f'reproduce: ERROR: {err}', file=sys.stderr)
        return 2
    if args.dry_run:
        return chain.dry_run()
    code = 0
    if not args.collect:
        try:
            chain.run()
        except StepFailed as err:
            print(f'reproduce: {err}', file=sys.stderr)
            code = 1
    results = write_results(chain)
    print(to_markdown(results))
    print(f'reproduce: results written to '
          f'{osp.join(chain.work_dir, "results.md")} and results.json')
    return code


if __name__ == '__main__':
    sys.exit(main())
