"""Peak memory of a piece of code, above the memory in use when it starts.

On the CPU it is the peak resident set size (RSS) ABOVE the RSS just before
the code: Linux's high-water mark ``VmHWM`` is reset by writing ``5`` to
``/proc/self/clear_refs`` first and read from ``/proc/self/status`` after.
(``tracemalloc`` cannot be used: it only sees Python's own allocator, not
torch's tensor memory.) Where the reset is not allowed,
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` deltas are used instead,
which only show growth beyond the process's earlier peak (``method`` says
which). On a GPU: ``torch.cuda.max_memory_allocated`` after
``torch.cuda.reset_peak_memory_stats``.
"""
import re
import resource
from typing import Optional

import torch


def _status_kb(key: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            m = re.search(key + r':\s+(\d+)\s+kB', f.read())
    except OSError:
        return None
    return int(m.group(1)) if m else None


class PeakMemory:
    """Context manager: peak memory (MiB) of the enclosed code above the
    memory in use when it starts; see the module docstring.

    Attributes:
        peak_mib (float): The measured peak increase.
        method (str): ``'VmHWM reset'``, ``'ru_maxrss delta'`` or
            ``'cuda max_memory_allocated'``.
    """

    def __init__(self, device: str = 'cpu') -> None:
        self.device = torch.device(device)
        self.peak_mib = float('nan')
        self.method = ''

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            self.method = 'cuda max_memory_allocated'
            return self
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self._start = _status_kb('VmRSS')
            self.method = 'VmHWM reset' if self._start is not None else ''
        except OSError:
            self.method = ''
        if not self.method:
            self._start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.method = 'ru_maxrss delta'
        return self

    def __exit__(self, *exc) -> None:
        if self.method.startswith('cuda'):
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.peak_mib = (peak - self._start) / 2**20
        elif self.method == 'VmHWM reset':
            self.peak_mib = (_status_kb('VmHWM') - self._start) / 1024
        else:  # ru_maxrss is in kB on Linux
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.peak_mib = (peak - self._start) / 1024


__all__ = ['PeakMemory']
