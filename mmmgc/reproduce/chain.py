"""The reproduction chain: pretrain -> last checkpoint -> export -> check
every downstream config -> each downstream run (train + test, or an
evaluation tool) -> results.

Every step runs one of the toolbox's tools as a subprocess and writes into
``<work_dir>/<step>/``: its log (``reproduce.log``: the command, then the
tool's stdout and stderr) and a record (``reproduce_step.json``: status,
command, start / end time, exit code, git commit, and the signature that
makes two runs of the step the same run). A step is finished when its
record says ``done`` and its outputs exist; it is then skipped. A
training step that was interrupted (no ``done`` record, but mmengine's
``last_checkpoint`` in its directory) is resumed with ``--resume``.
"""
import contextlib
import datetime
import glob
import hashlib
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional

from .launch import Command, Launcher
from .tables import Row, Table

RECORD = 'reproduce_step.json'
LOG = 'reproduce.log'
FORMATS = ('train', 'backbone', 'mgc', 'mugs', 'timm')


class StepFailed(RuntimeError):
    """A step of the chain failed; the message names the step, its log and
    the error."""


@dataclass
class Step:
    """One step of the chain.

    Args:
        name (str): Directory of the step, relative to the work dir.
        kind (str): ``pretrain``, ``export``, ``check``, ``train``,
            ``test`` or ``eval``.
        make (callable): Returns the step's :class:`Command` (called just
            before the step runs, when the earlier steps' outputs exist).
        outputs (list[str]): Files that exist once the step has finished.
        row (str, optional): The table row of a downstream step.
        resumable (bool): A training step (``--resume`` after an
            interruption). Defaults to False.
        in_process (bool): Run the tool's ``main(argv)`` in this process
            (output into the step's log) instead of a subprocess: the
            checks, which run on this machine whatever the launcher, and
            would otherwise pay the start-up of mmdet / mmseg / mmpose once
            per config. Defaults to False.
    """
    name: str
    kind: str
    make: Callable[[], Command]
    outputs: List[str] = field(default_factory=list)
    row: Optional[str] = None
    resumable: bool = False
    in_process: bool = False


def sha256(path: str) -> str:
    """The sha256 of a file (hex)."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def git_commit(repo_root: str) -> str:
    """``git rev-parse HEAD`` of the repository (``-dirty`` when the work
    tree has uncommitted changes), or ``unknown``."""
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'],
                              cwd=repo_root,
                              capture_output=True,
                              text=True,
                              timeout=30)
        if head.returncode != 0:
            return 'unknown'
        dirty = subprocess.run(
            ['git', 'status', '--porcelain', '--untracked-files=no'],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=30)
        return head.stdout.strip() + ('-dirty' if dirty.stdout.strip() else '')
    except (OSError, subprocess.SubprocessError):
        return 'unknown'


def format_option(key: str, value) -> str:
    """``key=value`` as mmengine's ``DictAction`` parses it back."""

    def fmt(v):
        if isinstance(v, (list, tuple)):
            inner = ','.join(fmt(x) for x in v)
            return f'[{inner}]' if isinstance(v, list) else f'({inner})'
        if isinstance(v, dict):
            raise ValueError(f'cfg option {key}: give dict values key by '
                             f'key ({key}.<name>=...), got {v!r}')
        return str(v)

    return f'{key}={fmt(value)}'


def read_record(step_dir: str) -> Optional[dict]:
    path = osp.join(step_dir, RECORD)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named by mmengine's ``last_checkpoint`` file."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        ckpt = f.read().strip()
    if ckpt and not osp.isabs(ckpt):
        ckpt = osp.join(work_dir, osp.basename(ckpt))
    return ckpt or None


def _now() -> str:
    return datetime.datetime.now(
        datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def error_summary(log_path: str, tail: int = 12) -> str:
    """The last error line of a log and its last lines."""
    try:
        with open(log_path, errors='replace') as f:
            lines = [ln.rstrip('\n') for ln in f]
    except OSError:
        return '(no log)'
    error = ''
    for ln in reversed(lines):
        s = ln.strip()
        if not s:
            continue
        head = s.split(':', 1)[0]
        if head.endswith(('Error', 'Exception', 'Interrupt')) or \
                'ERROR' in s:
            error = s
            break
    last = '\n'.join('    ' + ln for ln in lines[-tail:])
    return (f'  error: {error or "(see the log)"}\n'
            f'  last lines of the log:\n{last}')


class Chain:
    """Plans and runs the chain of one table.

    Args:
        table (Table): The rows to run.
        work_dir (str): Directory of the run (one sub-directory per step).
        launcher (Launcher): How training and tests are started.
        repo_root (str): Repository root (the commands run there).
        checkpoint (str, optional): A pretrained checkpoint: no
            pretraining.
        checkpoint_format (str): ``train`` (an mmengine training checkpoint:
            extract_backbone.py), ``backbone`` (already exported: used as
            is), or ``mgc`` / ``mugs`` / ``timm`` (the authors' releases:
            convert_official.py). Defaults to 'train'.
        branch (str, optional): ``--branch`` of convert_official.py.
        pretrain_config (str, optional): Pretraining config (defaults to the
            table's) when no checkpoint is given.
        pretrain_options (list[str]): ``--cfg-options`` of the pretraining.
        cfg_options (list[str]): ``--cfg-options`` of every downstream step.
        row_options (dict): ``{row: [k=v, ...]}`` for one row's steps.
        train_args (list[str]): Extra ``tools/train.py`` arguments (e.g.
            ``--amp``, ``--auto-scale-lr``).
        export_source (str, optional): ``online`` / ``momentum``; defaults
            to the table's.
        out (file): Where progress is printed. Defaults to stdout.
    """

    def __init__(self,
                 table: Table,
                 work_dir: str,
                 launcher: Launcher,
                 repo_root: str,
                 checkpoint: Optional[str] = None,
                 checkpoint_format: str = 'train',
                 branch: Optional[str] = None,
                 pretrain_config: Optional[str] = None,
                 pretrain_options: Optional[List[str]] = None,
                 cfg_options: Optional[List[str]] = None,
                 row_options: Optional[Dict[str, List[str]]] = None,
                 train_args: Optional[List[str]] = None,
                 export_source: Optional[str] = None,
                 out=None):
        if checkpoint_format not in FORMATS:
            raise ValueError(f'checkpoint format must be one of {FORMATS}, '
                             f'got {checkpoint_format!r}')
        self.table = table
        self.work_dir = osp.abspath(work_dir)
        self.launcher = launcher
        self.repo_root = osp.abspath(repo_root)
        self.checkpoint = osp.abspath(checkpoint) if checkpoint else None
        self.checkpoint_format = checkpoint_format
        self.branch = branch
        self.pretrain_config = pretrain_config or table.pretrain
        if self.checkpoint is None and not self.pretrain_config:
            raise ValueError(
                f'table {table.name!r} has no pretraining config: give a '
                'checkpoint (--checkpoint) or a pretraining config '
                '(--pretrain-config)')
        if self.checkpoint is not None and not osp.isfile(self.checkpoint):
            raise FileNotFoundError(
                f'checkpoint {self.checkpoint} does not exist')
        self.pretrain_options = list(pretrain_options or [])
        self.cfg_options = list(cfg_options or [])
        self.row_options = dict(row_options or {})
        unknown = set(self.row_options) - {r.name for r in table.rows}
        if unknown:
            raise ValueError(f'row options for unknown row(s) '
                             f'{sorted(unknown)}; rows: '
                             f'{[r.name for r in table.rows]}')
        for opt in self.pretrain_options + self.cfg_options + [
                o for opts in self.row_options.values() for o in opts
        ]:
            if '=' not in opt:
                raise ValueError(f'cfg option {opt!r} is not key=value')
        self.train_args = list(train_args or [])
        self.export_source = export_source or table.export_source
        self.out = out or sys.stdout
        for row in table.rows:
            path = self._abs(row.config)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{table.path or "table"}: row {row.name!r}: config '
                    f'{row.config} does not exist')
        self._commit = None
        self._sha = {}
        self._tools = {}
        self._dry = False

    # ----------------------------------------------------------- paths
    def _abs(self, path: str) -> str:
        return path if osp.isabs(path) else osp.join(self.repo_root, path)

    def step_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    @property
    def pretrain_dir(self) -> str:
        return self.step_dir('pretrain')

    @property
    def backbone(self) -> str:
        """The backbone file every downstream step loads."""
        if self.checkpoint is not None and \
                self.checkpoint_format == 'backbone':
            return self.checkpoint
        return osp.join(self.step_dir('export'), 'backbone.pth')

    def metrics_file(self, row: Row) -> str:
        step = 'test' if row.task == 'train' else 'eval'
        return osp.join(self.step_dir(f'{row.name}/{step}'), 'metrics.json')

    def backbone_sha256(self, placeholder: bool = False) -> Optional[str]:
        path = self.backbone
        if not osp.isfile(path):
            return '<sha256 of the exported backbone>' if placeholder \
                else None
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._sha:
            self._sha = {key: sha256(path)}
        return self._sha[key]

    def commit(self) -> str:
        if self._commit is None:
            self._commit = git_commit(self.repo_root)
        return self._commit

    # ---------------------------------------------------------- options
    def row_cfg_options(self, row: Row) -> List[str]:
        """``--cfg-options`` of a row: the table's, for the authors'
        releases the table's ``official.cfg_options``, the command line's
        (all rows, then this row), and the backbone checkpoint."""
        opts = [format_option(k, v) for k, v in row.cfg_options.items()]
        if self.checkpoint_format in ('mgc', 'mugs', 'timm'):
            official = self.table.official or {}
            opts += [
                format_option(k, v)
                for k, v in (official.get('cfg_options') or {}).items()
            ]
        opts += self.cfg_options + self.row_options.get(row.name, [])
        return opts + [f'{row.checkpoint_key}={self.backbone}']

    # ------------------------------------------------------------ steps
    def _source_checkpoint(self) -> str:
        if self.checkpoint is not None:
            return self.checkpoint
        found = last_checkpoint(self.pretrain_dir)
        return found or f'<last checkpoint of {self.pretrain_dir}>'

    def _trained_checkpoint(self, row: Row) -> str:
        train_dir = self.step_dir(f'{row.name}/train')
        if row.test_checkpoint == 'best':
            found = sorted(glob.glob(osp.join(train_dir, 'best_*.pth')))
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise StepFailed(
                    f'{row.name}: several best checkpoints in {train_dir}: '
                    f'{found}; delete the stale ones')
            if osp.isfile(osp.join(train_dir, 'last_checkpoint')):
                raise StepFailed(
                    f'{row.name}: the table tests the best checkpoint but '
                    f'{train_dir} has no best_*.pth (did validation run?)')
            return f'<best checkpoint of {train_dir}>'
        return last_checkpoint(train_dir) or \
            f'<last checkpoint of {train_dir}>'

    def steps(self) -> Iterator[Step]:
        """The steps of the chain, in order."""
        L = self.launcher
        if self.checkpoint is None:
            d = self.pretrain_dir
            yield Step(
                'pretrain',
                'pretrain',
                lambda: L.train(self.pretrain_config, ['--work-dir', d
                                                       ] + self.train_args +
                                (['--cfg-options'] + self.pretrain_options
                                 if self.pretrain_options else []
                                 ), self.table.pretrain_gpus, 'pretrain'),
                [osp.join(d, 'last_checkpoint')],
                resumable=True)
        fmt = self.checkpoint_format
        if self.checkpoint is None or fmt == 'train':
            script = 'tools/model_converters/extract_backbone.py'
            extra = ['--source', self.export_source]
        elif fmt != 'backbone':
            script = 'tools/model_converters/convert_official.py'
            official = self.table.official or {}
            branch = self.branch or (official.get('branch') if
                                     official.get('format') == fmt else None)
            extra = ['--format', fmt
                     ] + (['--branch', branch] if branch else [])
        if self.checkpoint is None or fmt != 'backbone':
            yield Step(
                'export',
                'export',
                lambda script=script, extra=extra: L.tool(
                    script, [self._source_checkpoint(), self.backbone] + extra,
                    'export'), [self.backbone])
        for row in self.table.rows:
            yield Step(
                f'{row.name}/check',
                'check',
                lambda row=row: self._check_command(row),
                row=row.name,
                in_process=True)
        for row in self.table.rows:
            opts = ['--cfg-options'] + self.row_cfg_options(row)
            cfg = row.config
            if row.task == 'train':
                tdir = self.step_dir(f'{row.name}/train')
                yield Step(
                    f'{row.name}/train',
                    'train',
                    lambda row=row, tdir=tdir, opts=opts: L.train(
                        row.config, ['--work-dir', tdir] + self.train_args +
                        opts, row.gpus, row.name),
                    [osp.join(tdir, 'last_checkpoint')],
                    row.name,
                    True)
                edir = self.step_dir(f'{row.name}/test')
                yield Step(
                    f'{row.name}/test',
                    'test',
                    lambda row=row, edir=edir, opts=opts: L.test(
                        row.config, self._trained_checkpoint(row), [
                            '--work-dir', edir, '--out',
                            self.metrics_file(row)
                        ] + opts, row.gpus, f'{row.name}-test'),
                    [self.metrics_file(row)],
                    row.name)
                continue
            edir = self.step_dir(f'{row.name}/eval')
            script, args = dict(
                knn=('tools/analysis/knn.py', ['dataset']),
                logreg=('tools/analysis/logreg_classify.py', []),
                davis=('tools/analysis/davis_propagation.py', []))[row.task]
            args = args + [cfg, '--out', self.metrics_file(row)]
            if row.task == 'davis':
                args += ['--output-dir', osp.join(edir, 'masks')]
            yield Step(
                f'{row.name}/eval',
                'eval',
                lambda script=script, args=args, opts=opts, row=row: L.tool(
                    script, args + opts, row.name, accelerator=True),
                [self.metrics_file(row)],
                row.name)

    def _check_command(self, row: Row) -> Command:
        config = row.config
        opts = self.row_cfg_options(row)
        if row.task == 'davis':
            # the DAVIS config's model is a bare backbone: check it inside
            # an ImageClassifier, the way check_transfer.py builds models
            config = self._davis_check_config(row, opts)
            opts = []
        return self.launcher.tool('tools/misc/check_transfer.py',
                                  [config, self.backbone] +
                                  (['--cfg-options'] + opts if opts else []),
                                  f'{row.name}-check')

    def _davis_check_config(self, row: Row, opts: List[str]) -> str:
        from mmengine.config import Config, DictAction
        cfg = Config.fromfile(self._abs(row.config))
        parsed = {}
        for opt in opts:
            key, value = opt.split('=', 1)
            parsed[key] = DictAction._parse_iterable(value)
        cfg.merge_from_dict(parsed)
        out = osp.join(
            self.step_dir(f'{row.name}/check'), 'davis_backbone_check.py')
        if self._dry:  # a dry run writes nothing
            return out
        os.makedirs(osp.dirname(out), exist_ok=True)
        wrapped = Config(
            dict(
                default_scope='mmpretrain',
                custom_imports=dict(
                    imports=['mmmgc'], allow_failed_imports=False),
                model=dict(
                    type='ImageClassifier', backbone=cfg.model.to_dict())))
        wrapped.dump(out)
        return out

    # -------------------------------------------------------- records
    def signature(self, step: Step, command: Command) -> dict:
        # a resumed run is the same run
        sig = dict(command=[
            a for a in (command.core or command.argv) if a != '--resume'
        ])
        if step.kind in ('check', 'train', 'test', 'eval'):
            sig['backbone_sha256'] = self.backbone_sha256(placeholder=True)
        return sig

    def state(self, step: Step, command: Command) -> str:
        """``done``, ``changed`` (done with another command or
        checkpoint), ``resume`` or ``run``."""
        d = self.step_dir(step.name)
        rec = read_record(d)
        if rec and rec.get('status') == 'done' and all(
                osp.exists(p) for p in step.outputs):
            if rec.get('signature') != self.signature(step, command):
                return 'changed'
            return 'done'
        if step.resumable and last_checkpoint(d):
            return 'resume'
        return 'run'

    def _write_record(self, target: Step, **values) -> None:
        d = self.step_dir(target.name)
        os.makedirs(d, exist_ok=True)
        rec = read_record(d) or {}
        rec.update(values)
        tmp = osp.join(d, RECORD + '.tmp')
        with open(tmp, 'w') as f:
            json.dump(rec, f, indent=1)
        os.replace(tmp, osp.join(d, RECORD))

    # ------------------------------------------------------------ run
    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _changed_error(self, step: Step, command: Command) -> StepFailed:
        d = self.step_dir(step.name)
        rec = read_record(d) or {}
        return StepFailed(
            f'step {step.name!r} was done with a different command or '
            f'backbone checkpoint:\n  then: {rec.get("signature")}\n'
            f'  now:  {self.signature(step, command)}\n'
            f'  delete {d} to run it again, or use another --work-dir')

    def dry_run(self) -> int:
        """Print every command; run nothing. Returns 0."""
        self._print(f'# dry run: {self.table.method} table '
                    f'{self.table.name!r}, work dir {self.work_dir}')
        self._dry = True
        try:
            self._dry_run()
        finally:
            self._dry = False
        return 0

    def _dry_run(self) -> None:
        for step in self.steps():
            try:
                command = step.make()
            except StepFailed as err:
                self._print(f'# [{step.name}] cannot be planned: {err}')
                continue
            state = self.state(step, command)
            if state == 'resume':
                command = self._with_resume(step, command)
            label = dict(
                done='done, skipped',
                changed='DONE WITH ANOTHER '
                'COMMAND: would stop',
                resume='resume',
                run='run')[state]
            if step.in_process and state == 'run':
                label = 'run, in the reproduce process'
            self._print(f'# [{step.name}] ({label})\n{command.shell()}')

    def _with_resume(self, step: Step, command: Command) -> Command:
        return Command(command.argv + ['--resume'], command.env,
                       command.core + ['--resume'])

    def run(self) -> None:
        """Run every unfinished step in order.

        Raises:
            StepFailed: At the first failing step (step, log, error).
        """
        os.makedirs(self.work_dir, exist_ok=True)
        steps = list(self.steps())
        for i, step in enumerate(steps, 1):
            command = step.make()
            state = self.state(step, command)
            head = f'[{i}/{len(steps)}] {step.name}'
            if state == 'changed':
                raise self._changed_error(step, command)
            if state == 'done':
                self._print(f'{head}: done, skipped')
                continue
            if state == 'resume':
                command = self._with_resume(step, command)
            verb = 'resuming' if state == 'resume' else 'running'
            self._print(f'{head}: {verb}\n  {command.shell()}')
            self._execute(step, command)

    def _run_subprocess(self, command: Command, env: dict, f,
                        step: Step) -> int:
        proc = subprocess.Popen(
            command.argv,
            cwd=self.repo_root,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT)
        try:
            return proc.wait()
        except BaseException:
            proc.terminate()
            proc.wait()
            self._write_record(step, status='interrupted', finished=_now())
            raise

    @staticmethod
    def _call_main(module, core: List[str]):
        """``module.main(argv)``, or ``main()`` with ``sys.argv`` set when
        the tool's ``main`` takes no arguments."""
        import inspect
        if inspect.signature(module.main).parameters:
            return module.main(core[1:])
        saved, sys.argv = sys.argv, list(core)
        try:
            return module.main()
        finally:
            sys.argv = saved

    def _run_in_process(self, command: Command, f) -> int:
        """``main(argv)`` of the tool ``command.core[0]``, with this
        process's stdout and stderr (file descriptors 1 and 2) in ``f``
        and the repository root as the working directory."""
        import importlib.util
        import traceback
        script = command.core[0]
        if script not in self._tools:
            spec = importlib.util.spec_from_file_location(
                '_reproduce_' + osp.splitext(osp.basename(script))[0],
                self._abs(script))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._tools[script] = module
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        cwd = os.getcwd()
        try:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
            os.chdir(self.repo_root)
            with contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
                try:
                    code = self._call_main(self._tools[script],
                                           command.core) or 0
                except SystemExit as err:  # argparse
                    code = err.code if isinstance(err.code, int) else 1
                except Exception:  # noqa: B902  (logged, step fails)
                    traceback.print_exc()
                    code = 1
            f.flush()
        finally:
            os.chdir(cwd)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        return int(code)

    def _execute(self, step: Step, command: Command) -> None:
        d = self.step_dir(step.name)
        os.makedirs(d, exist_ok=True)
        log = osp.join(d, LOG)
        signature = self.signature(step, command)
        self._write_record(
            step,
            step=step.name,
            status='started',
            command=command.shell(),
            signature=signature,
            log=log,
            started=_now(),
            finished=None,
            returncode=None,
            git_commit=self.commit(),
            backbone=self.backbone if step.kind != 'pretrain' else None,
            backbone_sha256=signature.get('backbone_sha256'))
        env = dict(os.environ)
        env.update(command.env)
        env['PYTHONPATH'] = self.repo_root + (
            os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
        with open(log, 'a') as f:
            f.write(f'\n===== {_now()} reproduce: {command.shell()}\n')
            f.flush()
            if step.in_process:
                code = self._run_in_process(command, f)
            else:
                code = self._run_subprocess(command, env, f, step)
        missing = [p for p in step.outputs if not osp.exists(p)]
        if code == 0 and not missing:
            self._write_record(
                step,
                status='done',
                finished=_now(),
                returncode=0,
                outputs={
                    p: osp.getsize(p) if osp.isfile(p) else None
                    for p in step.outputs
                })
            self._print(f'  done: {step.name} ({log})')
            return
        self._write_record(
            step, status='failed', finished=_now(), returncode=code)
        why = (f'exit code {code}'
               if code != 0 else f'exit code 0 but no {missing}')
        what = ''
        if step.kind == 'check':
            what = ('\n  the backbone checkpoint does not fit this config: '
                    'no downstream run was started')
        raise StepFailed(f'step {step.name!r} FAILED ({why}){what}\n'
                         f'  command: {command.shell()}\n  log: {log}\n' +
                         error_summary(log))


def split_row_options(items: Optional[List[List[str]]]
                      ) -> Dict[str, List[str]]:
    """``[[row, k=v, ...], ...]`` (``--row-options``) -> ``{row: [...]}``."""
    out: Dict[str, List[str]] = {}
    for item in items or []:
        if len(item) < 2:
            raise ValueError(f'--row-options {shlex.join(item)}: give ROW '
                             'then key=value ...')
        out.setdefault(item[0], []).extend(item[1:])
    return out


__all__ = [
    'Chain', 'Step', 'StepFailed', 'FORMATS', 'sha256', 'git_commit',
    'format_option', 'last_checkpoint', 'read_record', 'split_row_options',
    'error_summary'
]
