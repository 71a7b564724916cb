"""Commands of the toolbox's launchers: a local process,
``tools/dist_train.sh`` / ``tools/dist_test.sh`` with N GPUs, or
``tools/slurm_train.sh`` / ``tools/slurm_test.sh`` on a partition."""
import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

LAUNCHERS = ('local', 'dist', 'slurm')


@dataclass
class Command:
    """A command line and the environment variables it sets.

    Args:
        argv (list[str]): The program and its arguments.
        env (dict): Variables added to the environment. Defaults to {}.
        core (list[str]): The tool invocation without the launcher (script,
            config, arguments): what makes two runs the same run.
            Defaults to [].
    """
    argv: List[str]
    env: Dict[str, str] = field(default_factory=dict)
    core: List[str] = field(default_factory=list)

    def shell(self) -> str:
        """The command as one shell line (variables first)."""
        pre = [f'{k}={shlex.quote(v)}' for k, v in self.env.items()]
        return ' '.join(pre + [shlex.quote(a) for a in self.argv])


@dataclass
class Launcher:
    """How training, testing and single-process tools are started.

    Args:
        kind (str): ``local``, ``dist`` or ``slurm``.
        gpus (int, optional): GPUs of every training / test step; None
            keeps each step's own count (the paper's, from the table).
        partition (str, optional): SLURM partition (``slurm`` only).
        gpus_per_node (int): SLURM GPUs per node. Defaults to 8.
        job_prefix (str): SLURM job-name prefix. Defaults to 'reproduce'.
        python (str): Interpreter. Defaults to ``sys.executable``.
    """
    kind: str = 'local'
    gpus: Optional[int] = None
    partition: Optional[str] = None
    gpus_per_node: int = 8
    job_prefix: str = 'reproduce'
    python: str = sys.executable

    def __post_init__(self):
        if self.kind not in LAUNCHERS:
            raise ValueError(f'launcher must be one of {LAUNCHERS}, got '
                             f'{self.kind!r}')
        if self.kind == 'slurm' and not self.partition:
            raise ValueError('the slurm launcher needs a partition '
                             '(--partition)')
        if self.gpus is not None and self.gpus < 1:
            raise ValueError(f'gpus must be >= 1, got {self.gpus}')

    def _gpus(self, default: int) -> int:
        return self.gpus if self.gpus is not None else default

    def _slurm_env(self, gpus: int) -> Dict[str, str]:
        return dict(
            GPUS=str(gpus),
            GPUS_PER_NODE=str(min(gpus, self.gpus_per_node)),
            PYTHON=self.python)

    def train(self, config: str, args: List[str], gpus: int,
              job: str) -> Command:
        """``tools/train.py`` (or its launch script) on ``config``."""
        core = ['tools/train.py', config] + args
        if self.kind == 'local':
            return Command([self.python] + core, core=core)
        n = self._gpus(gpus)
        if self.kind == 'dist':
            return Command(['bash', 'tools/dist_train.sh', config,
                            str(n)] + args, dict(PYTHON=self.python), core)
        return Command([
            'bash', 'tools/slurm_train.sh', self.partition,
            f'{self.job_prefix}-{job}', config
        ] + args, self._slurm_env(n), core)

    def test(self, config: str, checkpoint: str, args: List[str], gpus: int,
             job: str) -> Command:
        """``tools/test.py`` (or its launch script) on ``config``."""
        core = ['tools/test.py', config, checkpoint] + args
        if self.kind == 'local':
            return Command([self.python] + core, core=core)
        n = self._gpus(gpus)
        if self.kind == 'dist':
            return Command(
                ['bash', 'tools/dist_test.sh', config, checkpoint,
                 str(n)] + args, dict(PYTHON=self.python), core)
        return Command([
            'bash', 'tools/slurm_test.sh', self.partition,
            f'{self.job_prefix}-{job}', config, checkpoint
        ] + args, self._slurm_env(n), core)

    def tool(self,
             script: str,
             args: List[str],
             job: str,
             accelerator: bool = False) -> Command:
        """A single-process tool. With ``accelerator`` (kNN, logistic
        regression, DAVIS) and the slurm launcher it runs as one srun task
        with one GPU; everything else runs on this machine."""
        core = [script] + args
        argv = [self.python] + core
        if self.kind != 'slurm' or not accelerator:
            return Command(argv, core=core)
        # as tools/slurm_train.sh: SRUN and SRUN_ARGS are honoured
        srun = [
            os.environ.get('SRUN', 'srun'), '-p', self.partition,
            f'--job-name={self.job_prefix}-{job}', '--gres=gpu:1',
            '--ntasks=1', '--kill-on-bad-exit=1'
        ]
        srun += shlex.split(os.environ.get('SRUN_ARGS', ''))
        return Command(srun + argv, core=core)


__all__ = ['Command', 'Launcher', 'LAUNCHERS']
