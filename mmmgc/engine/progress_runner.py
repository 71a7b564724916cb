"""A Runner for a terminal: a few progress lines and warnings on the
console, everything else in the log file (``tools/train.py --progress``).
"""
import logging
from typing import List, Sequence

from mmengine.dist import is_main_process
from mmengine.logging import MMLogger
from mmengine.logging.logger import FilterDuplicateWarning
from mmengine.runner import Runner

from .hooks.progress import ProgressHook


def quiet_console(logger: logging.Logger, level: int = logging.WARNING) -> int:
    """Raise the level of ``logger``'s console handlers (plain
    ``StreamHandler``, as MMLogger's on stdout) to at least ``level``; file
    handlers keep theirs.

    Returns:
        int: The number of console handlers changed.
    """
    n = 0
    for h in logger.handlers:
        if type(h) is logging.StreamHandler:
            h.setLevel(max(h.level, level))
            n += 1
    return n


def warnings_to_log_file(
    logger: logging.Logger, extra: Sequence[logging.Handler] = ()
) -> List[logging.Handler]:
    """Send Python warnings (``warnings.warn``) to ``logger``'s file
    handlers (and the ``extra`` handlers) instead of stderr
    (``logging.captureWarnings``); :func:`restore_warnings` undoes it.

    Returns:
        list: The handlers added to the ``py.warnings`` logger (empty, and
        nothing changed, when ``logger`` has no file handler).
    """
    files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
    if not files:
        return []
    py_warnings = logging.getLogger('py.warnings')
    added = [h for h in files + list(extra) if h not in py_warnings.handlers]
    for h in added:
        py_warnings.addHandler(h)
    py_warnings.propagate = False
    logging.captureWarnings(True)
    return added


def restore_warnings(added: Sequence[logging.Handler]) -> None:
    """Undo :func:`warnings_to_log_file`: Python warnings go to stderr
    again."""
    if not added:
        return
    py_warnings = logging.getLogger('py.warnings')
    for h in added:
        py_warnings.removeHandler(h)
    py_warnings.propagate = True
    logging.captureWarnings(False)


class WarningCounter(logging.Handler):
    """A logging handler that only counts the WARNING records it sees,
    a repeated message once (as MMLogger's handlers write them)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.addFilter(FilterDuplicateWarning())
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.count += 1


class ProgressRunner(Runner):
    """An mmengine ``Runner`` whose console shows only :class:`ProgressHook`
    lines, errors (level ``console_level``, ERROR, and above) and, at the
    end of training, the number of warnings and the log file's path.

    The log file (``work_dir/<timestamp>/<timestamp>.log``) keeps the
    config's ``log_level`` and receives what the console no longer shows:
    the environment, the config, the hooks, the initialisation report,
    every logger-hook line, mmengine's warnings (e.g. the optimizer's
    "skipped since its requires_grad=False" for each frozen parameter) and
    Python's. Training itself is untouched (the hook draws no random
    numbers), so the same seed gives the same numbers as with a plain
    ``Runner``.
    """

    console_level = logging.ERROR
    progress_lines = 10

    def __init__(self, *args, **kwargs) -> None:
        self.warning_counter = WarningCounter()
        self._py_warning_handlers: List[logging.Handler] = []
        super().__init__(*args, **kwargs)
        self.register_hook(ProgressHook(num_lines=self.progress_lines))

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        quiet_console(logger, self.console_level)
        logger.addHandler(self.warning_counter)
        self._py_warning_handlers = warnings_to_log_file(
            logger, extra=[self.warning_counter])
        return logger

    def train(self):
        try:
            model = super().train()
        finally:
            restore_warnings(self._py_warning_handlers)
        if is_main_process():
            n = self.warning_counter.count
            print(
                f'[train] done; full log ({n} warning{"s" * (n != 1)}) '
                f'in {self.logger.log_file}',
                flush=True)
        return model


__all__ = [
    'quiet_console', 'warnings_to_log_file', 'restore_warnings',
    'WarningCounter', 'ProgressRunner'
]
