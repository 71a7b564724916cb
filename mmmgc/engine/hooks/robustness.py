"""Hooks that keep a long run from being lost to bad data or a bad step."""
import os
import os.path as osp
from collections import Counter
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from ...utils.dist import is_multi_rank
from ...utils.skip_log import SKIP_LOG_ENV


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite (the message gives the iteration)."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop the run at the first non-finite loss, BEFORE the optimizer step.

    It wraps the optim wrapper's ``update_params`` so the check runs on the
    parsed loss before backward and step: the parameters of the last good
    iteration stay intact, and because the run stops with an exception no
    checkpoint is written after the last good one. Under DDP the decision
    is all-reduced, so every rank stops at the same iteration.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        wrapper = runner.optim_wrapper
        if getattr(wrapper, '_mmmgc_nonfinite_checked', False):
            return
        original = wrapper.update_params

        def checked_update_params(loss, *args, **kwargs):
            bad = torch.tensor([0.0 if torch.isfinite(loss).all() else 1.0],
                               device=loss.device)
            if is_multi_rank():
                torch_dist.all_reduce(bad, op=torch_dist.ReduceOp.MAX)
            if bad.item() > 0:
                raise NonFiniteLossError(
                    f'non-finite loss ({loss.detach().flatten()[:1].item()}) '
                    f'at iteration {runner.iter + 1} (epoch '
                    f'{runner.epoch + 1}); stopping before the optimizer '
                    'step. No checkpoint was written after the last good '
                    f'one in {runner.work_dir}.')
            return original(loss, *args, **kwargs)

        wrapper.update_params = checked_update_params
        wrapper._mmmgc_nonfinite_checked = True


@HOOKS.register_module()
class BadImageReportHook(Hook):
    """Count the images that the loading transform skipped, and report them.

    It points ``$MMMGC_SKIP_LOG`` at ``<work_dir>/skipped_images.tsv`` before
    the dataloader workers start (they inherit it), and after every epoch
    and at the end logs how many files were skipped and where the list is.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'skipped_images.tsv') -> None:
        self.filename = filename
        self.path: Optional[str] = None
        self.last_total = 0

    def before_run(self, runner) -> None:
        self.path = osp.join(runner.work_dir, self.filename)
        os.environ[SKIP_LOG_ENV] = self.path

    def _count(self) -> Counter:
        counts: Counter = Counter()
        if self.path and osp.isfile(self.path):
            with open(self.path, encoding='utf-8') as f:
                for line in f:
                    if line.strip():
                        counts[line.split('\t', 1)[0]] += 1
        return counts

    def _report(self, runner, when: str) -> None:
        counts = self._count()
        total = sum(counts.values())
        if total:
            print_log(
                f'{when}: skipped {total} unreadable image load(s) '
                f'({len(counts)} distinct file(s)) so far; list in '
                f'{self.path}',
                logger='current')
        self.last_total = total

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch}')

    def after_train(self, runner) -> None:
        self._report(runner, 'training finished')
