"""A few progress lines on the console during training."""
import datetime
import math
import sys
import time
from typing import Optional, TextIO

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


def progress_line(done: int, total: int, loss: Optional[float], elapsed: float,
                  eta: Optional[float]) -> str:
    """``[train] iter 64/320 (20 %)  loss 5.1234  elapsed 0:00:30  eta
    0:02:00``; ``loss`` and ``eta`` are left out when None."""

    def hms(seconds: float) -> str:
        return str(datetime.timedelta(seconds=int(round(seconds))))

    width = len(str(total))
    parts = [
        f'[train] iter {done:>{width}}/{total} '
        f'({100 * done / max(total, 1):3.0f} %)'
    ]
    if loss is not None:
        parts.append(f'loss {loss:.4f}')
    parts.append(f'elapsed {hms(elapsed)}')
    if eta is not None:
        parts.append(f'eta {hms(eta)}')
    return '  '.join(parts)


@HOOKS.register_module()
class ProgressHook(Hook):
    """Write a progress line (iteration / total, mean loss since the last
    line, elapsed time, ETA) every few training iterations and at the last.

    It only reads the loss that ``RuntimeInfoHook`` put into the message
    hub (``train/loss``) and the clock: no random numbers, no state, so a
    run with it gives the same numbers as without. Rank 0 only. Used by
    ``tools/train.py --progress``, whose console shows only these lines and
    warnings (the log file keeps everything).

    Args:
        num_lines (int): About how many lines a whole run writes: one every
            ``ceil(max_iters / num_lines)`` iterations. Defaults to 10.
        interval (int, optional): A line every ``interval`` iterations
            instead.
        stream (TextIO, optional): Where to write. Defaults to
            ``sys.stdout`` at the time of writing.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 num_lines: int = 10,
                 interval: Optional[int] = None,
                 stream: Optional[TextIO] = None) -> None:
        if num_lines < 1:
            raise ValueError(f'ProgressHook: num_lines must be >= 1, got '
                             f'{num_lines}')
        if interval is not None and interval < 1:
            raise ValueError(f'ProgressHook: interval must be >= 1, got '
                             f'{interval}')
        self.num_lines = num_lines
        self.interval = interval
        self.stream = stream
        self._t0 = 0.0
        self._start_iter = 0
        self._last_iter = 0

    def every(self, max_iters: int) -> int:
        """Iterations between two lines."""
        if self.interval is not None:
            return self.interval
        return max(1, math.ceil(max_iters / self.num_lines))

    def before_train(self, runner) -> None:
        self._t0 = time.perf_counter()
        self._start_iter = self._last_iter = runner.iter

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        done, total = runner.iter + 1, runner.max_iters
        if not is_main_process() or (done % self.every(total)
                                     and done != total):
            return
        buf = runner.message_hub.log_scalars.get('train/loss')
        loss = (
            float(buf.mean(done -
                           self._last_iter)) if buf is not None else None)
        elapsed = time.perf_counter() - self._t0
        ran = done - self._start_iter
        eta = elapsed / ran * (total - done) if ran > 0 else None
        stream = self.stream or sys.stdout
        stream.write(progress_line(done, total, loss, elapsed, eta) + '\n')
        stream.flush()
        self._last_iter = done
