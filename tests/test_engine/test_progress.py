"""``tools/train.py --progress``: ProgressHook's lines (known values) and
ProgressRunner's console (progress lines only, everything else in the log
file) on a two-iteration MGC demo run that gives the same weights as a
plain Runner."""
import io
import logging
import os.path as osp
import re
import warnings
from types import SimpleNamespace

import pytest
import torch

from tests._utils import REPO_ROOT


def test_progress_line_known_values():
    from mmmgc.engine.hooks import progress_line
    assert progress_line(64, 320, 5.12345, 30.4, 120.0) == (
        '[train] iter  64/320 ( 20 %)  loss 5.1235  elapsed 0:00:30  '
        'eta 0:02:00')
    assert progress_line(3, 3, None, 3725,
                         None) == ('[train] iter 3/3 (100 %)  elapsed 1:02:05')


class _Hub:
    """The part of a MessageHub the hook reads: ``train/loss``."""

    def __init__(self):
        from mmengine.logging import HistoryBuffer
        self.log_scalars = {'train/loss': HistoryBuffer()}

    def update(self, value):
        self.log_scalars['train/loss'].update(value)


def test_progress_hook_lines_and_window_mean():
    """25 iterations, 10 lines wanted: a line every ceil(25 / 10) = 3
    iterations and one at the last; the loss is the mean since the
    previous line."""
    from mmmgc.engine.hooks import ProgressHook
    out = io.StringIO()
    hook = ProgressHook(num_lines=10, stream=out)
    hub = _Hub()
    runner = SimpleNamespace(iter=0, max_iters=25, message_hub=hub)
    hook.before_train(runner)
    for i in range(25):
        runner.iter = i
        hub.update(float(i))  # loss of iteration i+1 is i
        hook.after_train_iter(runner, i)
    lines = out.getvalue().splitlines()
    done = [int(re.search(r'iter +(\d+)/25', s).group(1)) for s in lines]
    assert done == [3, 6, 9, 12, 15, 18, 21, 24, 25]
    losses = [float(re.search(r'loss (\S+)', s).group(1)) for s in lines]
    # iterations 1-3 -> losses 0, 1, 2; 4-6 -> 3, 4, 5; ...; 25 -> 24
    assert losses == [1.0, 4.0, 7.0, 10.0, 13.0, 16.0, 19.0, 22.0, 24.0]
    assert all('eta' in s for s in lines)
    # a fixed interval, and a resumed run counts from its start
    out2 = io.StringIO()
    hook = ProgressHook(interval=4, stream=out2)
    runner = SimpleNamespace(iter=10, max_iters=20, message_hub=_Hub())
    hook.before_train(runner)
    for i in range(10, 20):
        runner.iter = i
        runner.message_hub.update(1.0)
        hook.after_train_iter(runner, i)
    assert [
        int(re.search(r'iter +(\d+)/', s).group(1))
        for s in out2.getvalue().splitlines()
    ] == [12, 16, 20]
    with pytest.raises(ValueError, match='num_lines'):
        ProgressHook(num_lines=0)


def _tiny_demo_cfg(work_dir):
    """The MGC demo recipe on 8 scenes, batch 4, one epoch: 2
    iterations."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/mgc/mgc_demo.py'))
    cfg.train_dataloader.dataset.num_samples = 8
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    return cfg


def test_progress_runner_console_log_file_and_same_weights(tmp_path, capsys):
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from mmmgc.engine import ProgressRunner

    class WarnHook(Hook):

        def before_train(self, runner):
            warnings.warn('progress-test warning')

    py_warnings = logging.getLogger('py.warnings')
    handlers_before = list(py_warnings.handlers)
    runner = ProgressRunner.from_cfg(_tiny_demo_cfg(tmp_path / 'progress'))
    runner.register_hook(WarnHook())
    runner.train()
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    log_file = runner.logger.log_file
    assert len(lines) == 3, captured.out
    assert lines[0].startswith('[train] iter 1/2 ( 50 %)  loss ')
    assert lines[1].startswith('[train] iter 2/2 (100 %)  loss ')
    n = int(
        re.match(r'\[train\] done; full log \((\d+) warnings\) in ',
                 lines[2]).group(1))
    assert lines[2].endswith(log_file)
    assert 'progress-test warning' not in captured.err
    with open(log_file) as f:
        log = f.read()
    # what the console no longer shows is in the log file
    for text in ('Config:', 'Epoch(train) [1][2/2]', 'progress-test warning',
                 'is skipped since its requires_grad=False'):
        assert text in log
    assert n == log.count(' - WARNING - ') > 1
    # Python warnings go to stderr again after training
    assert py_warnings.handlers == handlers_before
    assert py_warnings.propagate

    # the same run with a plain Runner ends with the same weights
    plain = Runner.from_cfg(_tiny_demo_cfg(tmp_path / 'plain'))
    plain.train()
    capsys.readouterr()
    a, b = runner.model.state_dict(), plain.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
